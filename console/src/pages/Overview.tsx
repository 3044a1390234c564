// Operators' overview: the seed's dashboard, refreshed every 5 s, with the
// five alerts and per-minute charts of the last hour from MetricsService's rollups.
import { useMemo } from "preact/hooks";
import type { MinutePoint } from "../../../gen/onering/v1/metrics_pb.js";
import type { Gateway } from "../api.js";
import { LineChart } from "../ui/LineChart.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { seconds } from "../ui/format.js";
import { useCall } from "../ui/useCall.js";

const refreshMs = 5000;

export function Overview({ client }: { client: Gateway }) {
  const { data, problem } = useCall(
    async () => {
      const [external, webhooks, series] = await Promise.all([client.getExternalMetrics({}), client.getWebhookMetrics({}), client.getMinuteSeries({ minutes: 60 })]);
      return { external, webhooks, points: series.points };
    },
    [client],
    refreshMs,
  );
  const series = useMemo(() => {
    const points = data?.points ?? [];
    const col = (pick: (p: MinutePoint) => bigint | number) => points.map((p) => Number(pick(p)));
    const at = col((p) => p.minute?.seconds ?? 0n);
    return {
      requests: [at, col((p) => p.requestsOk), col((p) => p.authFailures), col((p) => p.rateLimitHits)],
      deliveries: [at, col((p) => p.delivered), col((p) => p.failed), col((p) => p.deadLetter)],
      latency: [at, col((p) => p.latencyP90Seconds)],
    };
  }, [data]);
  if (!data) return <ProblemBox problem={problem} />;
  const { external, webhooks } = data;
  const alerts = Object.entries({ ...external.alerts, ...webhooks.alerts }).sort(([a], [b]) => a.localeCompare(b));
  const tiers = ["free", "pro", "enterprise"].map((tier) => [tier, external.byTier[tier]?.activeKeys ?? 0n] as const);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <ProblemBox problem={problem} />
      <h2>Alerts</h2>
      <ul class="alerts" aria-label="Alerts">
        {alerts.map(([name, alert]) => (
          <li key={name} class={alert.firing ? "firing" : "ok"} data-alert={name}>
            <span class="badge">{alert.firing ? "FIRING" : "ok"}</span> {name}: {alert.observed} (threshold {alert.threshold})
          </li>
        ))}
      </ul>
      <div class="tiles">
        <Tile label="Active keys" value={external.activeKeys} />
        {tiers.map(([tier, active]) => (
          <Tile key={tier} label={`Active ${tier} keys`} value={active} />
        ))}
        <Tile label="Auth failures (24 h)" value={external.authFailures24h} />
        <Tile label="Rate-limit hits (24 h)" value={external.rateLimitHits24h} />
        <Tile label="Delivered" value={webhooks.delivered} />
        <Tile label="Failed" value={webhooks.failed} />
        <Tile label="Dead letter" value={webhooks.deadLetter} />
        <Tile label="Pending" value={webhooks.pending} />
        <Tile label="Retrying" value={webhooks.retrying} />
        <Tile label="Open circuits" value={webhooks.openCircuits} />
        <Tile label="p90 latency" value={seconds(webhooks.latencyP90Seconds)} />
      </div>
      <h2>Last hour, per minute</h2>
      <div class="charts">
        <LineChart
          title="External requests"
          data={series.requests as never}
          series={[
            { label: "ok", color: "#2a7" },
            { label: "auth failures", color: "#c22" },
            { label: "rate-limit hits", color: "#d73" },
          ]}
        />
        <LineChart
          title="Deliveries"
          data={series.deliveries as never}
          series={[
            { label: "delivered", color: "#2a7" },
            { label: "failed attempts", color: "#d73" },
            { label: "dead letter", color: "#c22" },
          ]}
        />
        <LineChart title="p90 delivery latency (s)" data={series.latency as never} series={[{ label: "p90", color: "#37c" }]} />
      </div>
    </section>
  );
}

function Tile({ label, value }: { label: string; value: bigint | number | string }) {
  return (
    <div class="tile">
      <div class="tile-value">{String(value)}</div>
      <div class="tile-label">{label}</div>
    </div>
  );
}

// Operators' overview: the seed's dashboard, refreshed every 5 s, with the
// five alerts and charts of what this page has sampled over the last hour.
import { useMemo } from "preact/hooks";
import type { Gateway } from "../api.js";
import { LineChart } from "../ui/LineChart.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { seconds } from "../ui/format.js";
import { useCall } from "../ui/useCall.js";

const refreshMs = 5000;
const hourMs = 3_600_000;

interface Sample {
  at: number;
  delivered: number;
  failed: number;
  deadLetter: number;
  pending: number;
  retrying: number;
  p90: number;
  authFailures: number;
  rateLimitHits: number;
}

// Kept across page changes, so the charts keep their hour while the tab is open.
const samples: Sample[] = [];

export function Overview({ client }: { client: Gateway }) {
  const { data, problem } = useCall(
    async () => {
      const [external, webhooks] = await Promise.all([client.getExternalMetrics({}), client.getWebhookMetrics({})]);
      samples.push({
        at: Date.now() / 1000,
        delivered: Number(webhooks.delivered),
        failed: Number(webhooks.failed),
        deadLetter: Number(webhooks.deadLetter),
        pending: Number(webhooks.pending),
        retrying: Number(webhooks.retrying),
        p90: webhooks.latencyP90Seconds,
        authFailures: Number(external.authFailures24h),
        rateLimitHits: Number(external.rateLimitHits24h),
      });
      while (samples[0]!.at < Date.now() / 1000 - hourMs / 1000) samples.shift();
      return { external, webhooks };
    },
    [client],
    refreshMs,
  );
  const series = useMemo(() => {
    const col = (pick: (s: Sample) => number) => samples.map(pick);
    return {
      deliveries: [col((s) => s.at), col((s) => s.delivered), col((s) => s.failed), col((s) => s.deadLetter), col((s) => s.pending), col((s) => s.retrying)],
      edge: [col((s) => s.at), col((s) => s.authFailures), col((s) => s.rateLimitHits)],
      latency: [col((s) => s.at), col((s) => s.p90)],
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
      <h2>Last hour (sampled every 5 s while open)</h2>
      <div class="charts">
        <LineChart
          title="Deliveries"
          data={series.deliveries as never}
          series={[
            { label: "delivered", color: "#2a7" },
            { label: "failed", color: "#d73" },
            { label: "dead letter", color: "#c22" },
            { label: "pending", color: "#37c" },
            { label: "retrying", color: "#a5c" },
          ]}
        />
        <LineChart title="Edge refusals (24 h)" data={series.edge as never} series={[{ label: "auth failures", color: "#c22" }, { label: "rate-limit hits", color: "#d73" }]} />
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

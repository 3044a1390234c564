// `onering metrics watch`: a live-refreshing terminal view of the metrics,
// the friendly replacement for `watch -n 5 curl … | jq`.
import type { GetExternalMetricsResponse, GetWebhookMetricsResponse } from "../../gen/onering/v1/metrics_pb.js";
import { table } from "./table.js";

const red = (s: string) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);
const green = (s: string) => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);

export function renderDashboard(external: GetExternalMetricsResponse, webhooks: GetWebhookMetricsResponse, at: Date): string {
  const tiers = Object.entries(external.byTier).map(([tier, usage]) => [
    tier,
    String(Object.values(usage.requests).reduce((a, b) => a + b, 0n)),
    String(usage.requests.ok ?? 0n),
    String(usage.rateLimitHits),
    String(usage.activeKeys),
    String(usage.keysWithTraffic24h),
  ]);
  const alerts = Object.entries({ ...external.alerts, ...webhooks.alerts }).map(([name, a]) => [
    name,
    String(a.observed),
    String(a.threshold),
    a.firing ? red("FIRING") : green("ok"),
  ]);
  return [
    `OneRing mesh — ${at.toISOString()} — last ${Number(external.windowSeconds) / 3600} h`,
    "",
    `External API: ${external.requestsTotal} requests, ${external.authFailures24h} auth failures, ${external.rateLimitHits24h} rate-limited, ${external.activeKeys} active keys (${external.keysWithTraffic24h} with traffic)`,
    table(["tier", "requests", "ok", "rate limited", "active keys", "with traffic"], tiers),
    "",
    `Webhooks: ${webhooks.delivered} delivered, ${webhooks.failed} failed attempts, ${webhooks.deadLetter} dead letters, ` +
      `${webhooks.pending} pending, ${webhooks.retrying} retrying, ${webhooks.replayRejected} replays rejected`,
    `Latency event→delivered: p50 ${webhooks.latencyP50Seconds}s  p90 ${webhooks.latencyP90Seconds}s  p99 ${webhooks.latencyP99Seconds}s  ` +
      `avg retries ${webhooks.averageRetryCount.toFixed(2)}`,
    "",
    table(["alert", "observed", "threshold", "state"], alerts),
  ].join("\n");
}

// MetricsService handlers: figures from the rollups, live delivery state from
// WebhookService, the key list from KeyService, alerts against thresholds.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client, ServiceImpl } from "@connectrpc/connect";
import type { KeyService } from "../../gen/onering/v1/key_pb.js";
import type { MetricsService } from "../../gen/onering/v1/metrics_pb.js";
import type { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import type { MeshConfig } from "../shared/config.js";
import type { Storage } from "../shared/database.js";
import { causedBy } from "../shared/internalClient.js";
import { computeAlerts } from "./alerts.js";
import { quantileSeconds } from "./latencyBuckets.js";
import { minuteSums, requestSums, webhookSums, type RequestSums, type WebhookSums } from "./rollupQueries.js";
import type * as schema from "./schema.js";

const day = 86_400;
const defaultSeriesMinutes = 60;

// 0 asks for the default; metrics.proto's rules bound any other value.
function windowOf(requested: bigint): number {
  return requested === 0n ? day : Number(requested);
}

const outcomeTotal = (sums: RequestSums, outcome: string) => [...sums.byTier.values()].reduce((n, o) => n + (o.get(outcome) ?? 0), 0);
const webhookCount = (sums: WebhookSums, outcome: string) => sums.outcomes.get(outcome)?.count ?? 0;

export interface MetricsServiceDeps {
  config: MeshConfig;
  db: Storage<typeof schema>["db"];
  keys: Client<typeof KeyService>;
  webhooks: Client<typeof WebhookService>;
}

export function createMetricsService({ config, db, keys, webhooks }: MetricsServiceDeps): ServiceImpl<typeof MetricsService> {
  const allKeys = async (requestHeader: Headers, includeRevoked: boolean) => {
    const items = [];
    let pageToken = "";
    do {
      const page = await keys.listKeys({ pageSize: 200, pageToken, includeRevoked }, causedBy(requestHeader));
      items.push(...page.keys);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return items;
  };
  // "Active" means one thing everywhere: not revoked.
  const activeByTier = (items: Awaited<ReturnType<typeof allKeys>>) => {
    const byTier: Record<string, bigint> = {};
    for (const key of items) if (!key.revokeTime) byTier[key.tier] = (byTier[key.tier] ?? 0n) + 1n;
    return byTier;
  };
  const total = (counts: Record<string, bigint>) => Object.values(counts).reduce((a, b) => a + b, 0n);

  // Alerts always judge the last 24 h, whatever window the caller asked for.
  const alerts = async () => {
    const [requests, hooks] = await Promise.all([requestSums(db, day), webhookSums(db, day)]);
    return computeAlerts(config.alerts, {
      deadLetter: webhookCount(hooks, "dead_letter"),
      authFailures: outcomeTotal(requests, "auth_failure"),
      rateLimitHits: outcomeTotal(requests, "rate_limited"),
      replayRejected: webhookCount(hooks, "replay_rejected"),
      latencyP90Seconds: quantileSeconds(hooks.latencies, 0.9),
    });
  };

  return {
    async getExternalMetrics(req, ctx) {
      const windowSeconds = windowOf(req.windowSeconds);
      const [sums, active] = await Promise.all([requestSums(db, windowSeconds), allKeys(ctx.requestHeader, false).then(activeByTier)]);
      const byOutcome: Record<string, bigint> = {};
      const byTier: Record<string, { requests: Record<string, bigint>; rateLimitHits: bigint; activeKeys: bigint; keysWithTraffic24h: bigint }> = {};
      for (const [tier, count] of Object.entries(active)) byTier[tier] = { requests: {}, rateLimitHits: 0n, activeKeys: count, keysWithTraffic24h: 0n };
      let requestsTotal = 0;
      for (const [tier, outcomes] of sums.byTier) {
        const requests: Record<string, bigint> = {};
        for (const [outcome, count] of outcomes) {
          requests[outcome] = BigInt(count);
          byOutcome[outcome] = (byOutcome[outcome] ?? 0n) + BigInt(count);
          requestsTotal += count;
        }
        byTier[tier] = {
          requests,
          rateLimitHits: BigInt(outcomes.get("rate_limited") ?? 0),
          activeKeys: active[tier] ?? 0n,
          keysWithTraffic24h: BigInt(sums.keysWithTrafficByTier.get(tier) ?? 0),
        };
      }
      return {
        windowSeconds: BigInt(windowSeconds),
        requestsTotal: BigInt(requestsTotal),
        authFailures24h: BigInt(outcomeTotal(sums, "auth_failure")),
        rateLimitHits24h: BigInt(outcomeTotal(sums, "rate_limited")),
        activeKeys: total(active),
        keysWithTraffic24h: BigInt([...sums.keysWithTrafficByTier.values()].reduce((a, b) => a + b, 0)),
        byTier,
        byOutcome,
        alerts: await alerts(),
      };
    },

    async getWebhookMetrics(req, ctx) {
      const windowSeconds = windowOf(req.windowSeconds);
      const [sums, live] = await Promise.all([webhookSums(db, windowSeconds), webhooks.getDeliveryStats({}, causedBy(ctx.requestHeader))]);
      const delivered = sums.outcomes.get("delivered") ?? { count: 0, attempts: 0 };
      const replayRejected = webhookCount(sums, "replay_rejected");
      const publishes = webhookCount(sums, "published") + replayRejected;
      return {
        windowSeconds: BigInt(windowSeconds),
        delivered: BigInt(delivered.count),
        failed: BigInt(webhookCount(sums, "failed")),
        deadLetter: BigInt(webhookCount(sums, "dead_letter")),
        pending: live.pending,
        retrying: live.retrying,
        openCircuits: live.openCircuits,
        replayRejected: BigInt(replayRejected),
        replayRejectedRate: publishes === 0 ? 0 : replayRejected / publishes,
        averageRetryCount: delivered.count === 0 ? 0 : delivered.attempts / delivered.count - 1,
        latencyP50Seconds: quantileSeconds(sums.latencies, 0.5),
        latencyP90Seconds: quantileSeconds(sums.latencies, 0.9),
        latencyP99Seconds: quantileSeconds(sums.latencies, 0.99),
        alerts: await alerts(),
      };
    },

    async getMinuteSeries(req) {
      const points = await minuteSums(db, req.minutes === 0 ? defaultSeriesMinutes : req.minutes);
      return {
        points: points.map((p) => ({
          minute: timestampFromDate(p.minute),
          requestsOk: BigInt(p.requests.get("ok") ?? 0),
          authFailures: BigInt(p.requests.get("auth_failure") ?? 0),
          rateLimitHits: BigInt(p.requests.get("rate_limited") ?? 0),
          delivered: BigInt(p.webhooks.get("delivered") ?? 0),
          failed: BigInt(p.webhooks.get("failed") ?? 0),
          deadLetter: BigInt(p.webhooks.get("dead_letter") ?? 0),
          latencyP90Seconds: quantileSeconds(p.latencies, 0.9),
        })),
      };
    },

    async listApiKeyInventory(req, ctx) {
      const [usage, items] = await Promise.all([requestSums(db, day), allKeys(ctx.requestHeader, req.includeRevoked)]);
      const byTier = activeByTier(items);
      return {
        keys: items.map((key) => ({
          id: key.id,
          name: key.name,
          tier: key.tier,
          canary: key.canary,
          usageCount: key.usageCount,
          requests24h: BigInt(usage.byKey.get(key.id) ?? 0),
          lastUsedTime: key.lastUsedTime,
          revoked: key.revokeTime !== undefined,
        })),
        activeKeys: total(byTier),
        byTier,
        alerts: await alerts(),
      };
    },
  };
}

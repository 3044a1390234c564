// Sums over the rollups for a window ending now.
import { gte, sum } from "drizzle-orm";
import type { Storage } from "../shared/database.js";
import * as schema from "./schema.js";

type Db = Storage<typeof schema>["db"];

const since = (windowSeconds: number) => new Date(Date.now() - windowSeconds * 1000);

export interface RequestSums {
  /** count by tier, then outcome */
  byTier: Map<string, Map<string, number>>;
  /** keys with at least one admitted request, by tier */
  keysWithTrafficByTier: Map<string, number>;
  /** requests by key id, all outcomes */
  byKey: Map<string, number>;
}

export async function requestSums(db: Db, windowSeconds: number): Promise<RequestSums> {
  const t = schema.requestRollups;
  const from = since(windowSeconds);
  const rows = await db
    .select({ tier: t.tier, outcome: t.outcome, keyId: t.keyId, count: sum(t.count).mapWith(Number) })
    .from(t)
    .where(gte(t.minute, from))
    .groupBy(t.tier, t.outcome, t.keyId);
  const byTier = new Map<string, Map<string, number>>();
  const withTraffic = new Map<string, Set<string>>();
  const byKey = new Map<string, number>();
  for (const row of rows) {
    const outcomes = byTier.get(row.tier) ?? new Map<string, number>();
    outcomes.set(row.outcome, (outcomes.get(row.outcome) ?? 0) + row.count);
    byTier.set(row.tier, outcomes);
    if (row.keyId) byKey.set(row.keyId, (byKey.get(row.keyId) ?? 0) + row.count);
    if (row.keyId && row.outcome === "ok") withTraffic.set(row.tier, (withTraffic.get(row.tier) ?? new Set()).add(row.keyId));
  }
  return { byTier, keysWithTrafficByTier: new Map([...withTraffic].map(([tier, keys]) => [tier, keys.size])), byKey };
}

export interface WebhookSums {
  /** count and attempts by outcome */
  outcomes: Map<string, { count: number; attempts: number }>;
  latencies: { bucket: number; count: number }[];
}

export async function webhookSums(db: Db, windowSeconds: number): Promise<WebhookSums> {
  const from = since(windowSeconds);
  const w = schema.webhookRollups;
  const rows = await db
    .select({ outcome: w.outcome, count: sum(w.count).mapWith(Number), attempts: sum(w.attempts).mapWith(Number) })
    .from(w)
    .where(gte(w.minute, from))
    .groupBy(w.outcome);
  const l = schema.latencyRollups;
  const latencies = await db
    .select({ bucket: l.bucket, count: sum(l.count).mapWith(Number) })
    .from(l)
    .where(gte(l.minute, from))
    .groupBy(l.bucket);
  return { outcomes: new Map(rows.map((r) => [r.outcome, { count: r.count, attempts: r.attempts }])), latencies };
}

export interface MinuteSums {
  minute: Date;
  requests: Map<string, number>;
  webhooks: Map<string, number>;
  latencies: { bucket: number; count: number }[];
}

/** The rollups minute by minute over the last `minutes`, oldest first, a minute without rows included. */
export async function minuteSums(db: Db, minutes: number): Promise<MinuteSums[]> {
  const last = Math.floor(Date.now() / 60_000) * 60_000;
  const from = new Date(last - (minutes - 1) * 60_000);
  const r = schema.requestRollups;
  const w = schema.webhookRollups;
  const l = schema.latencyRollups;
  const [requests, webhooks, latencies] = await Promise.all([
    db.select({ minute: r.minute, outcome: r.outcome, count: sum(r.count).mapWith(Number) }).from(r).where(gte(r.minute, from)).groupBy(r.minute, r.outcome),
    db.select({ minute: w.minute, outcome: w.outcome, count: sum(w.count).mapWith(Number) }).from(w).where(gte(w.minute, from)).groupBy(w.minute, w.outcome),
    db.select({ minute: l.minute, bucket: l.bucket, count: sum(l.count).mapWith(Number) }).from(l).where(gte(l.minute, from)).groupBy(l.minute, l.bucket),
  ]);
  const points = Array.from({ length: minutes }, (_, i): MinuteSums => ({ minute: new Date(from.getTime() + i * 60_000), requests: new Map(), webhooks: new Map(), latencies: [] }));
  const at = (minute: Date) => points[Math.round((minute.getTime() - from.getTime()) / 60_000)];
  for (const row of requests) at(row.minute)?.requests.set(row.outcome, row.count);
  for (const row of webhooks) at(row.minute)?.webhooks.set(row.outcome, row.count);
  for (const row of latencies) at(row.minute)?.latencies.push({ bucket: row.bucket, count: row.count });
  return points;
}

// Tables of the `metrics` schema: per-minute rollups that MetricsService
// builds from the usage stream, and how far into the stream it has counted.
import { bigint, integer, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const metricsSchema = pgSchema("metrics");

/** External requests per minute, key, tier and outcome. */
export const requestRollups = metricsSchema.table(
  "request_rollups",
  {
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    keyId: text("key_id").notNull(),
    tier: text("tier").notNull(),
    outcome: text("outcome").notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.keyId, t.tier, t.outcome] })],
);

/** Webhook outcomes per minute, with the attempts they took (for the retry average). */
export const webhookRollups = metricsSchema.table(
  "webhook_rollups",
  {
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    outcome: text("outcome").notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
    attempts: bigint("attempts", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.outcome] })],
);

/** Event-to-delivery latencies per minute in geometric buckets (see latencyBuckets.ts). */
export const latencyRollups = metricsSchema.table(
  "latency_rollups",
  {
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    bucket: integer("bucket").notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.bucket] })],
);

/** The last stream sequence each consumer counted, written in the same transaction as the rollups. */
export const consumerOffsets = metricsSchema.table("consumer_offsets", {
  consumer: text("consumer").primaryKey(),
  lastSequence: bigint("last_sequence", { mode: "number" }).notNull(),
});

// Tables of the `metrics` schema: per-minute rollups that MetricsService
// builds from the usage and delivery-outcome streams.
import { bigint, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const metricsSchema = pgSchema("metrics");

/** External requests per minute, key, tier and outcome. */
export const requestRollups = metricsSchema.table(
  "request_rollups",
  {
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    keyId: text("key_id").notNull(),
    tier: text("tier").notNull(),
    outcome: text("outcome").notNull(),
    count: bigint("count", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.minute, t.keyId, t.tier, t.outcome] })],
);

/** Webhook outcomes per minute (delivered, failed, dead_letter, replay_rejected, published). */
export const webhookRollups = metricsSchema.table(
  "webhook_rollups",
  {
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    outcome: text("outcome").notNull(),
    count: bigint("count", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.minute, t.outcome] })],
);

// Tables of the `webhooks` schema, owned by WebhookService and its workers.
import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgSchema, text, timestamp } from "drizzle-orm/pg-core";

export const webhooksSchema = pgSchema("webhooks");

export const webhooks = webhooksSchema.table(
  "webhooks",
  {
    id: text("id").primaryKey(),
    ownerKeyId: text("owner_key_id").notNull(),
    url: text("url").notNull(),
    eventTypes: jsonb("event_types").$type<string[]>().notNull(),
    description: text("description").notNull().default(""),
    enabled: boolean("enabled").notNull().default(true),
    paused: boolean("paused").notNull().default(false),
    disabledReason: text("disabled_reason").notNull().default(""),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true }),
    /** First failure since the last success; drives the auto-disable period. */
    failingSince: timestamp("failing_since", { withTimezone: true }),
    /** Failed attempts in a row; at the threshold the circuit opens. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    /** Circuit open: no attempt until then; after it, one probe (half-open). */
    circuitOpenUntil: timestamp("circuit_open_until", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("webhooks_owner_idx").on(t.ownerKeyId)],
);

export const events = webhooksSchema.table(
  "events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    data: jsonb("data").notNull(),
    idempotencyKey: text("idempotency_key"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("events_idempotency_idx").on(t.idempotencyKey, t.createdAt)],
);

export const deliveries = webhooksSchema.table(
  "deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    status: text("status").notNull(),
    attemptCount: integer("attempt_count").notNull().default(0),
    /** attempt_count when last replayed: MAX_ATTEMPTS and the backoff count from here. */
    attemptBase: integer("attempt_base").notNull().default(0),
    /** Bumped on every re-enqueue so the job's Nats-Msg-Id is new to the duplicate window. */
    generation: integer("generation").notNull().default(0),
    /** A worker is sending it until then; a second copy of the job defers. */
    leasedUntil: timestamp("leased_until", { withTimezone: true }),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    deadLetteredAt: timestamp("dead_lettered_at", { withTimezone: true }),
    /** Set once JetStream acknowledged the job; unset rows are the outbox. */
    enqueuedAt: timestamp("enqueued_at", { withTimezone: true }),
    /** W3C traceparent of the publish (or replay) that queued it, so a retry minutes later joins that trace. */
    traceParent: text("trace_parent"),
  },
  (t) => [
    index("deliveries_webhook_idx").on(t.webhookId, t.createdAt),
    index("deliveries_status_idx").on(t.status, t.nextAttemptAt),
    index("deliveries_outbox_idx").on(t.createdAt).where(sql`${t.enqueuedAt} is null`),
    index("deliveries_dead_letter_idx").on(t.deadLetteredAt),
  ],
);

/** Publishes turned away by an idempotency key, for the replay_rejected count. */
export const replayRejections = webhooksSchema.table(
  "replay_rejections",
  {
    eventId: text("event_id").notNull(),
    rejectedAt: timestamp("rejected_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("replay_rejections_time_idx").on(t.rejectedAt)],
);

export const attempts = webhooksSchema.table(
  "attempts",
  {
    deliveryId: text("delivery_id").notNull(),
    number: integer("number").notNull(),
    statusCode: integer("status_code").notNull().default(0),
    error: text("error").notNull().default(""),
    responseBody: text("response_body").notNull().default(""),
    durationMs: bigint("duration_ms", { mode: "number" }).notNull(),
    attemptedAt: timestamp("attempted_at", { withTimezone: true }).notNull().defaultNow(),
    /** The attempt's trace, empty when tracing was off. */
    traceId: text("trace_id").notNull().default(""),
  },
  (t) => [index("attempts_delivery_idx").on(t.deliveryId, t.number)],
);

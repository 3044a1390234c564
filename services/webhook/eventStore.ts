// Accepting an event: atomically the event, one delivery per matching enabled
// webhook, and those deliveries as outbox rows (enqueued_at unset), so an
// accepted event is never lost even while NATS is down.
import type { JsonObject } from "@bufbuild/protobuf";
import { and, count, desc, eq, gt, ne, sql } from "drizzle-orm";
import { currentTraceParent } from "../shared/tracing.js";
import { Batcher } from "./batcher.js";
import type { DeliveryJob } from "./deliveryJobs.js";
import { newId } from "./ids.js";
import { deliveries, events, replayRejections, webhooks } from "./schema.js";
import type { DeliveryRow, EventRow, WebhookDb } from "./webhookDb.js";

/** Which webhooks receive the event. */
export type FanOut =
  | { kind: "matching" }
  | { kind: "one"; webhookId: string }
  /** Operational events about one webhook go to its owner's other webhooks. */
  | { kind: "owner-others"; owner: string; exceptId: string };

export interface NewEvent {
  type: string;
  data: JsonObject;
  idempotencyKey?: string;
  /** The publishing request's trace, stored with each delivery so its retries join it. */
  traceParent?: string;
}

/** What the outbox relay needs of a new delivery; `waits` while its webhook's circuit is open (the scheduler publishes it when the probe is due). */
export type NewDelivery = Pick<DeliveryRow, "id" | "webhookId" | "generation"> & Partial<Pick<DeliveryRow, "traceParent">> & { waits?: boolean };

export interface Published {
  event: EventRow;
  replayed: boolean;
  deliveryCount: number;
  deliveries: NewDelivery[];
}

// Events per group commit, and group commits at once (each on its own pooled connection).
const maxGroupCommit = 100;
const groupCommitsInFlight = 4;

export function jobOf(row: NewDelivery): DeliveryJob {
  return { deliveryId: row.id, webhookId: row.webhookId, generation: row.generation, traceParent: row.traceParent };
}

/** Stores an event and its deliveries inside the caller's transaction. */
export async function insertEvent(tx: WebhookDb, input: NewEvent, fanOut: FanOut): Promise<{ event: EventRow; deliveries: NewDelivery[] }> {
  return fanOut.kind === "matching" ? (await insertMatching(tx, [input]))[0]! : insertTargeted(tx, input, fanOut);
}

/**
 * Stores events and a delivery for every enabled webhook whose filters
 * match (exact, or `prefix.*`) in one statement: atomic without a transaction
 * of its own, and one round trip for a whole group commit.
 */
async function insertMatching(db: WebhookDb, inputs: NewEvent[]): Promise<{ event: EventRow; deliveries: NewDelivery[] }[]> {
  const batch = inputs.map((input) => ({ id: newId("evt"), type: input.type, data: input.data, idempotency_key: input.idempotencyKey || null, trace_parent: input.traceParent ?? null }));
  const result = (await db.execute(sql`
    with batch as (
      select e->>'id' as id, e->>'type' as type, e->'data' as data, e->>'idempotency_key' as idempotency_key, e->>'trace_parent' as trace_parent
      from jsonb_array_elements(${JSON.stringify(batch)}::jsonb) as e
    ), new_events as (
      insert into ${events} (id, type, data, idempotency_key)
      select id, type, data, idempotency_key from batch
      returning id, created_at
    ), new_deliveries as (
      insert into ${deliveries} (id, event_id, webhook_id, status, next_attempt_at, trace_parent)
      select 'dlv_' || replace(gen_random_uuid()::text, '-', ''), b.id, s.id, 'pending', greatest(now(), s.circuit_open_until), b.trace_parent
      from batch b join ${webhooks} s on s.enabled and exists (
        select from jsonb_array_elements_text(s.event_types) as f(filter)
        where f.filter = b.type or (right(f.filter, 2) = '.*' and starts_with(b.type, left(f.filter, -1))))
      returning id, event_id, webhook_id, next_attempt_at > now() as waits, trace_parent
    )
    select id as event_id, null as delivery_id, null as webhook_id, (extract(epoch from created_at) * 1000)::float8 as created_ms, null as waits, null as trace_parent from new_events
    union all
    select event_id, id, webhook_id, null, waits, trace_parent from new_deliveries`)) as unknown as {
    rows: { event_id: string; delivery_id: string | null; webhook_id: string | null; created_ms: number | null; waits: boolean | null; trace_parent: string | null }[];
  };
  const stored = new Map(batch.map((e) => [e.id, { createdAt: new Date(0), deliveries: [] as NewDelivery[] }]));
  for (const row of result.rows) {
    const event = stored.get(row.event_id)!;
    if (row.delivery_id === null) event.createdAt = new Date(Number(row.created_ms));
    else event.deliveries.push({ id: row.delivery_id, webhookId: row.webhook_id!, generation: 0, traceParent: row.trace_parent, waits: row.waits === true });
  }
  return batch.map((e) => {
    const { createdAt, deliveries: created } = stored.get(e.id)!;
    return { event: { id: e.id, type: e.type, data: e.data, idempotencyKey: e.idempotency_key, createdAt }, deliveries: created };
  });
}

/** Stores an event with a delivery to chosen webhooks: one, or an owner's others. */
async function insertTargeted(
  tx: WebhookDb,
  input: NewEvent,
  fanOut: Exclude<FanOut, { kind: "matching" }>,
): Promise<{ event: EventRow; deliveries: NewDelivery[] }> {
  const [event] = await tx.insert(events).values({ id: newId("evt"), type: input.type, data: input.data, idempotencyKey: input.idempotencyKey || null }).returning();
  const targets = await tx
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(
      fanOut.kind === "one"
        ? eq(webhooks.id, fanOut.webhookId)
        : and(eq(webhooks.ownerKeyId, fanOut.owner), ne(webhooks.id, fanOut.exceptId), eq(webhooks.enabled, true)),
    );
  const created =
    targets.length === 0
      ? []
      : await tx
          .insert(deliveries)
          .values(targets.map((t) => ({ id: newId("dlv"), eventId: event!.id, webhookId: t.id, status: "pending", nextAttemptAt: new Date(), traceParent: input.traceParent })))
          .returning({ id: deliveries.id, webhookId: deliveries.webhookId, generation: deliveries.generation, traceParent: deliveries.traceParent });
  return { event: event!, deliveries: created };
}

export class EventStore {
  // Group commit for the hot path, plain events to matching webhooks: one
  // statement per batch instead of a transaction per event.
  private readonly plain: Batcher<NewEvent, Published>;

  constructor(
    private readonly db: WebhookDb,
    private readonly replayWindowSeconds: number,
  ) {
    this.plain = new Batcher<NewEvent, Published>(
      async (inputs) => (await insertMatching(this.db, inputs)).map((stored) => ({ ...stored, replayed: false, deliveryCount: stored.deliveries.length })),
      maxGroupCommit,
      groupCommitsInFlight,
    );
  }

  /**
   * Publishes, or returns the original event when the idempotency key was used
   * within the replay window. Deliveries keep the current trace, if any.
   */
  publish(event: NewEvent, fanOut: FanOut = { kind: "matching" }): Promise<Published> {
    const traceParent = currentTraceParent();
    const input = traceParent === undefined ? event : { ...event, traceParent };
    if (!input.idempotencyKey && fanOut.kind === "matching") return this.plain.add(input);
    return this.db.transaction(async (tx) => {
      if (input.idempotencyKey) {
        // Serialises publishers of the same key so exactly one of them creates the event.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`webhooks.idempotency:${input.idempotencyKey}`}))`);
        const since = new Date(Date.now() - this.replayWindowSeconds * 1000);
        const [original] = await tx
          .select()
          .from(events)
          .where(and(eq(events.idempotencyKey, input.idempotencyKey), gt(events.createdAt, since)))
          .orderBy(desc(events.createdAt))
          .limit(1);
        if (original) {
          await tx.insert(replayRejections).values({ eventId: original.id });
          const [{ n }] = (await tx.select({ n: count() }).from(deliveries).where(eq(deliveries.eventId, original.id))) as [{ n: number }];
          return { event: original, replayed: true, deliveryCount: Number(n), deliveries: [] };
        }
      }
      const stored = await insertEvent(tx, input, fanOut);
      return { ...stored, replayed: false, deliveryCount: stored.deliveries.length };
    });
  }
}

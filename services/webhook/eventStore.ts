// Accepting an event: in one transaction the event, one delivery per matching
// enabled subscription, and those deliveries as outbox rows (enqueued_at unset),
// so an accepted event is never lost even while NATS is down.
import type { JsonObject } from "@bufbuild/protobuf";
import { and, count, desc, eq, gt, ne, sql } from "drizzle-orm";
import { Batcher } from "./batcher.js";
import type { DeliveryJob } from "./deliveryJobs.js";
import { newId } from "./ids.js";
import { deliveries, events, replayRejections, subscriptions } from "./schema.js";
import { matchesEventType } from "./validation.js";
import type { DeliveryRow, EventRow, WebhookDb } from "./webhookDb.js";

/** Which subscriptions receive the event. */
export type FanOut =
  | { kind: "matching" }
  | { kind: "one"; subscriptionId: string }
  /** Operational events about one endpoint go to its owner's other endpoints. */
  | { kind: "owner-others"; owner: string; exceptId: string };

export interface NewEvent {
  type: string;
  data: JsonObject;
  idempotencyKey?: string;
}

export interface Published {
  event: EventRow;
  replayed: boolean;
  deliveryCount: number;
  deliveries: DeliveryRow[];
}

// Events per group commit, and delivery rows per INSERT (Postgres allows 65,535 parameters a statement).
const maxGroupCommit = 100;
const deliveriesPerStatement = 1000;

export function jobOf(row: Pick<DeliveryRow, "id" | "subscriptionId" | "generation">): DeliveryJob {
  return { deliveryId: row.id, webhookId: row.subscriptionId, generation: row.generation };
}

/** Stores an event and its deliveries inside the caller's transaction. */
export async function insertEvent(tx: WebhookDb, input: NewEvent, fanOut: FanOut): Promise<{ event: EventRow; deliveries: DeliveryRow[] }> {
  return (await insertEvents(tx, [input], fanOut))[0]!;
}

/** Stores events and their deliveries inside the caller's transaction: one statement for the events, one for the subscriptions, one for the deliveries. */
async function insertEvents(tx: WebhookDb, inputs: NewEvent[], fanOut: FanOut): Promise<{ event: EventRow; deliveries: DeliveryRow[] }[]> {
  const eventRows = await tx
    .insert(events)
    .values(inputs.map((input) => ({ id: newId("evt"), type: input.type, data: input.data, idempotencyKey: input.idempotencyKey || null })))
    .returning();
  const targets =
    fanOut.kind === "one"
      ? await tx.select({ id: subscriptions.id, eventTypes: subscriptions.eventTypes }).from(subscriptions).where(eq(subscriptions.id, fanOut.subscriptionId))
      : fanOut.kind === "owner-others"
        ? await tx
            .select({ id: subscriptions.id, eventTypes: subscriptions.eventTypes })
            .from(subscriptions)
            .where(and(eq(subscriptions.ownerKeyId, fanOut.owner), ne(subscriptions.id, fanOut.exceptId), eq(subscriptions.enabled, true)))
        : await tx.select({ id: subscriptions.id, eventTypes: subscriptions.eventTypes }).from(subscriptions).where(eq(subscriptions.enabled, true));
  const now = new Date();
  const wanted = eventRows.flatMap((event) =>
    targets
      .filter((t) => fanOut.kind !== "matching" || matchesEventType(t.eventTypes, event.type))
      .map((t) => ({ id: newId("dlv"), eventId: event.id, subscriptionId: t.id, status: "pending", nextAttemptAt: now })),
  );
  const byEvent = new Map<string, DeliveryRow[]>(eventRows.map((event) => [event.id, []]));
  for (let i = 0; i < wanted.length; i += deliveriesPerStatement) {
    for (const row of await tx.insert(deliveries).values(wanted.slice(i, i + deliveriesPerStatement)).returning()) byEvent.get(row.eventId)!.push(row);
  }
  return eventRows.map((event) => ({ event, deliveries: byEvent.get(event.id)! }));
}

export class EventStore {
  // Group commit for the hot path, plain events to matching subscriptions: one
  // transaction per batch instead of one per event.
  private readonly plain: Batcher<NewEvent, Published>;

  constructor(
    private readonly db: WebhookDb,
    private readonly replayWindowSeconds: number,
  ) {
    this.plain = new Batcher<NewEvent, Published>(
      (inputs) =>
        this.db.transaction(async (tx) =>
          (await insertEvents(tx, inputs, { kind: "matching" })).map((stored) => ({ ...stored, replayed: false, deliveryCount: stored.deliveries.length })),
        ),
      maxGroupCommit,
    );
  }

  /** Publishes, or returns the original event when the idempotency key was used within the replay window. */
  publish(input: NewEvent, fanOut: FanOut = { kind: "matching" }): Promise<Published> {
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

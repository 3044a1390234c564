// Accepting an event: in one transaction the event, one delivery per matching
// enabled subscription, and those deliveries as outbox rows (enqueued_at unset),
// so an accepted event is never lost even while NATS is down.
import type { JsonObject } from "@bufbuild/protobuf";
import { and, count, desc, eq, gt, ne, sql } from "drizzle-orm";
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

export function jobOf(row: Pick<DeliveryRow, "id" | "subscriptionId" | "generation">): DeliveryJob {
  return { deliveryId: row.id, webhookId: row.subscriptionId, generation: row.generation };
}

/** Stores an event and its deliveries inside the caller's transaction. */
export async function insertEvent(tx: WebhookDb, input: NewEvent, fanOut: FanOut): Promise<{ event: EventRow; deliveries: DeliveryRow[] }> {
  const [event] = await tx
    .insert(events)
    .values({ id: newId("evt"), type: input.type, data: input.data, idempotencyKey: input.idempotencyKey || null })
    .returning();
  const targets =
    fanOut.kind === "one"
      ? await tx.select({ id: subscriptions.id, eventTypes: subscriptions.eventTypes }).from(subscriptions).where(eq(subscriptions.id, fanOut.subscriptionId))
      : fanOut.kind === "owner-others"
        ? await tx
            .select({ id: subscriptions.id, eventTypes: subscriptions.eventTypes })
            .from(subscriptions)
            .where(and(eq(subscriptions.ownerKeyId, fanOut.owner), ne(subscriptions.id, fanOut.exceptId), eq(subscriptions.enabled, true)))
        : (
            await tx.select({ id: subscriptions.id, eventTypes: subscriptions.eventTypes }).from(subscriptions).where(eq(subscriptions.enabled, true))
          ).filter((s) => matchesEventType(s.eventTypes, input.type));
  if (targets.length === 0) return { event: event!, deliveries: [] };
  const now = new Date();
  const rows = await tx
    .insert(deliveries)
    .values(targets.map((t) => ({ id: newId("dlv"), eventId: event!.id, subscriptionId: t.id, status: "pending", nextAttemptAt: now })))
    .returning();
  return { event: event!, deliveries: rows };
}

export class EventStore {
  constructor(
    private readonly db: WebhookDb,
    private readonly replayWindowSeconds: number,
  ) {}

  /** Publishes, or returns the original event when the idempotency key was used within the replay window. */
  publish(input: NewEvent, fanOut: FanOut = { kind: "matching" }): Promise<Published> {
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

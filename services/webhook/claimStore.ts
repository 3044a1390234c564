// The worker's read path: lease a batch of deliveries and say, per job,
// whether to send it, drop it or hand it back for later.
import { create } from "@bufbuild/protobuf";
import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { ClaimOutcome, ClaimedDeliverySchema, type ClaimedDelivery } from "../../gen/onering/v1/webhook_pb.js";
import { deliveries, events, subscriptions } from "./schema.js";
import { signingSecrets } from "./subscriptionStore.js";
import type { DeliveryRow, EventRow, SubscriptionRow, WebhookDb } from "./webhookDb.js";

const terminal = new Set(["delivered", "dead_letter", "dropped"]);
// A due job that arrives a little early is sent rather than bounced for a few milliseconds.
const earlyToleranceMs = 50;

/** The body every receiver gets, per the Standard Webhooks payload shape. */
export function deliveryPayload(event: { id: string; type: string; data: unknown; createdAt: Date }): string {
  return JSON.stringify({ type: event.type, timestamp: event.createdAt.toISOString(), id: event.id, data: event.data });
}

// Jobs in a batch that name the same delivery: the first one decides, the rest are done.
export async function claimDeliveries(db: WebhookDb, ids: string[], leaseMs: number): Promise<ClaimedDelivery[]> {
  const leased = await leaseSendable(db, ids, leaseMs);
  const rest = [...new Set(ids.filter((id) => !leased.has(id)))];
  const decided = rest.length === 0 ? new Map<string, ClaimedDelivery>() : new Map((await claimOthers(db, rest, leaseMs)).map((c) => [c.id, c]));
  const answered = new Set<string>();
  return ids.map((id) => {
    if (answered.has(id)) return create(ClaimedDeliverySchema, { id, outcome: ClaimOutcome.DONE });
    answered.add(id);
    return leased.get(id) ?? decided.get(id)!;
  });
}

function sendable(delivery: DeliveryRow, subscription: SubscriptionRow, event: EventRow, now: Date): ClaimedDelivery {
  return create(ClaimedDeliverySchema, {
    id: delivery.id,
    outcome: ClaimOutcome.SEND,
    webhookId: subscription.id,
    url: subscription.url,
    secrets: signingSecrets(subscription, now),
    payload: deliveryPayload(event),
    attemptNumber: delivery.attemptCount + 1,
  });
}

/**
 * The common case, deliveries that are due, unleased and whose subscription is
 * live, leased and read with their subscriptions and events in one statement
 * (the row lock and re-check of a concurrent UPDATE keep two workers from both
 * leasing one): a claim is on every event's way to its receiver.
 */
async function leaseSendable(db: WebhookDb, ids: string[], leaseMs: number): Promise<Map<string, ClaimedDelivery>> {
  const now = new Date();
  let statement = leaseStatements.get(db);
  if (statement === undefined) leaseStatements.set(db, (statement = prepareLease(db)));
  const rows = await statement.execute({
    ids,
    now: now.toISOString(),
    leasedUntil: new Date(now.getTime() + leaseMs).toISOString(),
    dueBy: new Date(now.getTime() + earlyToleranceMs).toISOString(),
  });
  return new Map(rows.map(({ subscriptions: subscription, events: event, ...delivery }) => [delivery.id, sendable(delivery, subscription, event, now)]));
}

// The lease statement is built once per database and bound to each claim's
// values: building it per claim with drizzle was a fifth of everything the
// WebhookService allocated per event.
const leaseStatements = new WeakMap<WebhookDb, ReturnType<typeof prepareLease>>();

function prepareLease(db: WebhookDb) {
  const at = (name: string) => sql`${sql.placeholder(name)}::timestamptz`;
  return db
    .update(deliveries)
    .set({ leasedUntil: at("leasedUntil") })
    .from(subscriptions)
    // Postgres lets no ON clause of UPDATE … FROM name the updated table, so the event is matched in WHERE.
    .innerJoin(events, sql`true`)
    .where(
      and(
        sql`${deliveries.id} = any(${sql.placeholder("ids")}::text[])`,
        eq(subscriptions.id, deliveries.subscriptionId),
        eq(events.id, deliveries.eventId),
        inArray(deliveries.status, ["pending", "retrying"]),
        eq(subscriptions.enabled, true),
        eq(subscriptions.paused, false),
        or(isNull(deliveries.leasedUntil), lte(deliveries.leasedUntil, at("now"))),
        or(isNull(deliveries.nextAttemptAt), lte(deliveries.nextAttemptAt, at("dueBy"))),
      ),
    )
    .returning()
    .prepare("webhooks_lease_sendable");
}

/** Everything else, decided under row locks: done, dropped, parked, deferred, or leased after all. */
async function claimOthers(db: WebhookDb, ids: string[], leaseMs: number): Promise<ClaimedDelivery[]> {
  return db.transaction(async (tx) => {
    // Three queries rather than one join: only the delivery rows are locked.
    const locked = await tx.select().from(deliveries).where(inArray(deliveries.id, ids)).orderBy(deliveries.id).for("update");
    const subIds = [...new Set(locked.map((d) => d.subscriptionId))];
    const eventIds = [...new Set(locked.map((d) => d.eventId))];
    const subs = subIds.length === 0 ? [] : await tx.select().from(subscriptions).where(inArray(subscriptions.id, subIds));
    const evts = eventIds.length === 0 ? [] : await tx.select().from(events).where(inArray(events.id, eventIds));
    const subById = new Map(subs.map((r) => [r.id, r]));
    const eventById = new Map(evts.map((r) => [r.id, r]));
    const byId = new Map(locked.map((d) => [d.id, { delivery: d, subscription: subById.get(d.subscriptionId), event: eventById.get(d.eventId)! }]));
    const now = new Date();
    const drop: string[] = [];
    const park: string[] = [];
    const lease: string[] = [];
    const claimed = ids.map((id) => {
      const row = byId.get(id);
      const done = create(ClaimedDeliverySchema, { id, outcome: ClaimOutcome.DONE });
      if (!row || terminal.has(row.delivery.status)) return done;
      const { delivery, subscription, event } = row;
      if (!subscription || !subscription.enabled) {
        drop.push(id);
        return done;
      }
      if (subscription.paused) {
        // Back to the outbox: resuming the subscription enqueues it again.
        park.push(id);
        return done;
      }
      const busyUntil = Math.max(delivery.leasedUntil?.getTime() ?? 0, (delivery.nextAttemptAt?.getTime() ?? 0) - earlyToleranceMs);
      if (busyUntil > now.getTime()) {
        return create(ClaimedDeliverySchema, { id, outcome: ClaimOutcome.DEFER, deferMs: BigInt(busyUntil - now.getTime() + earlyToleranceMs) });
      }
      lease.push(id);
      return sendable(delivery, subscription, event, now);
    });
    if (drop.length > 0) await tx.update(deliveries).set({ status: "dropped", nextAttemptAt: null, leasedUntil: null }).where(inArray(deliveries.id, drop));
    // A new generation: the resumed job needs a message id the duplicate window has not seen.
    if (park.length > 0) await tx.update(deliveries).set({ enqueuedAt: null, generation: sql`${deliveries.generation} + 1` }).where(inArray(deliveries.id, park));
    if (lease.length > 0) await tx.update(deliveries).set({ leasedUntil: new Date(now.getTime() + leaseMs) }).where(inArray(deliveries.id, lease));
    return claimed;
  });
}

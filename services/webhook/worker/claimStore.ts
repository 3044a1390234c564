// The worker's read path, straight on the webhooks schema: lease a batch of
// deliveries for sending. Whatever is not to be sent now goes back to Postgres
// (the scheduler publishes it again when due) rather than waiting in JetStream,
// so no job holds an ack-pending slot or worker memory while it waits.
import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { deliveries, events, webhooks } from "../schema.js";
import { signingSecrets } from "../webhookStore.js";
import type { DeliveryRow, EventRow, WebhookRow, WebhookDb } from "../webhookDb.js";

const terminal = new Set(["delivered", "dead_letter", "dropped"]);
// A due job that arrives a little early is sent rather than parked for a few milliseconds.
const earlyToleranceMs = 50;

/** A leased delivery: everything its attempt needs. */
export interface ClaimedDelivery {
  /** The delivery id, sent as `webhook-id`. */
  id: string;
  webhookId: string;
  url: string;
  /** Signing secrets: the current one first, the previous one during a rotation. */
  secrets: string[];
  /** The exact JSON body to POST. */
  payload: string;
  attemptNumber: number;
  /** The lease: no other worker sends it before then. */
  leasedUntil: Date;
}

/** The body every receiver gets, per the Standard Webhooks payload shape. */
export function deliveryPayload(event: { id: string; type: string; data: unknown; createdAt: Date }): string {
  return JSON.stringify({ type: event.type, timestamp: event.createdAt.toISOString(), id: event.id, data: event.data });
}

/**
 * What to do with one job: send the delivery now; hand the job back after
 * `deferMs` (another worker holds the lease, and may die before recording);
 * or nothing, the job is done with (finished, or parked back in Postgres).
 */
export type Claim = { send: ClaimedDelivery } | { deferMs: number } | undefined;

/** One claim per id, in order; a repeated id is sent once. */
export async function claimDeliveries(db: WebhookDb, ids: string[], leaseMs: number): Promise<Claim[]> {
  const leased = await leaseSendable(db, ids, leaseMs);
  const rest = [...new Set(ids.filter((id) => !leased.has(id)))];
  const decided = rest.length === 0 ? new Map<string, Claim>() : await claimOthers(db, rest, leaseMs);
  const answered = new Set<string>();
  return ids.map((id) => {
    if (answered.has(id)) return undefined;
    answered.add(id);
    const send = leased.get(id);
    return send ? { send } : decided.get(id);
  });
}

function sendable(delivery: DeliveryRow, webhook: WebhookRow, event: EventRow, now: Date, leasedUntil: Date): ClaimedDelivery {
  return {
    id: delivery.id,
    webhookId: webhook.id,
    url: webhook.url,
    secrets: signingSecrets(webhook, now),
    payload: deliveryPayload(event),
    attemptNumber: delivery.attemptCount + 1,
    leasedUntil,
  };
}

/**
 * The common case, deliveries that are due and unleased on a live webhook
 * whose circuit is closed, leased and read with their webhooks and events
 * in one statement (the row lock and re-check of a concurrent UPDATE keep two
 * workers from both leasing one).
 */
async function leaseSendable(db: WebhookDb, ids: string[], leaseMs: number): Promise<Map<string, ClaimedDelivery>> {
  const now = new Date();
  const leasedUntil = new Date(now.getTime() + leaseMs);
  let statement = leaseStatements.get(db);
  if (statement === undefined) leaseStatements.set(db, (statement = prepareLease(db)));
  const rows = await statement.execute({
    ids,
    now: now.toISOString(),
    leasedUntil: leasedUntil.toISOString(),
    dueBy: new Date(now.getTime() + earlyToleranceMs).toISOString(),
  });
  return new Map(rows.map(({ webhooks: webhook, events: event, ...delivery }) => [delivery.id, sendable(delivery, webhook, event, now, leasedUntil)]));
}

// Built once per database and bound to each claim's values: building it per
// claim with drizzle was a fifth of everything allocated per event.
const leaseStatements = new WeakMap<WebhookDb, ReturnType<typeof prepareLease>>();

function prepareLease(db: WebhookDb) {
  const at = (name: string) => sql`${sql.placeholder(name)}::timestamptz`;
  return db
    .update(deliveries)
    .set({ leasedUntil: at("leasedUntil") })
    .from(webhooks)
    // Postgres lets no ON clause of UPDATE … FROM name the updated table, so the event is matched in WHERE.
    .innerJoin(events, sql`true`)
    .where(
      and(
        sql`${deliveries.id} = any(${sql.placeholder("ids")}::text[])`,
        eq(webhooks.id, deliveries.webhookId),
        eq(events.id, deliveries.eventId),
        inArray(deliveries.status, ["pending", "retrying"]),
        eq(webhooks.enabled, true),
        eq(webhooks.paused, false),
        isNull(webhooks.circuitOpenUntil),
        or(isNull(deliveries.leasedUntil), lte(deliveries.leasedUntil, at("now"))),
        or(isNull(deliveries.nextAttemptAt), lte(deliveries.nextAttemptAt, at("dueBy"))),
      ),
    )
    .returning()
    .prepare("webhooks_lease_sendable");
}

/**
 * Everything else, decided under row locks (deliveries, then webhooks, as
 * everywhere): finished; a deleted webhook's delivery dead-lettered (kept,
 * listed); parked until due, until a disabled or paused webhook is back, or
 * until an open circuit's probe; the one probe of a half-open circuit leased.
 */
async function claimOthers(db: WebhookDb, ids: string[], leaseMs: number): Promise<Map<string, Claim>> {
  return db.transaction(async (tx) => {
    const locked = await tx.select().from(deliveries).where(inArray(deliveries.id, ids)).orderBy(deliveries.id).for("update");
    const hookIds = [...new Set(locked.map((d) => d.webhookId))];
    const eventIds = [...new Set(locked.map((d) => d.eventId))];
    const hooks = hookIds.length === 0 ? [] : await tx.select().from(webhooks).where(inArray(webhooks.id, hookIds)).orderBy(webhooks.id).for("update");
    const evts = eventIds.length === 0 ? [] : await tx.select().from(events).where(inArray(events.id, eventIds));
    const hookById = new Map(hooks.map((r) => [r.id, r]));
    const eventById = new Map(evts.map((r) => [r.id, r]));
    const now = new Date();
    const leaseEnd = new Date(now.getTime() + leaseMs);
    const orphaned: string[] = [];
    const parked = new Map<string, Date | null>();
    const lease: string[] = [];
    const probes: string[] = [];
    const claimed = new Map<string, Claim>();
    for (const delivery of locked) {
      if (terminal.has(delivery.status)) continue;
      const webhook = hookById.get(delivery.webhookId);
      if (!webhook) {
        orphaned.push(delivery.id);
        continue;
      }
      // Being sent elsewhere: that worker records it; should it die first, this job sends it after the lease.
      if (delivery.leasedUntil && delivery.leasedUntil > now) {
        claimed.set(delivery.id, { deferMs: delivery.leasedUntil.getTime() - now.getTime() + earlyToleranceMs });
        continue;
      }
      // The outbox relays these again once the webhook is enabled or resumed.
      if (!webhook.enabled || webhook.paused) {
        parked.set(delivery.id, null);
        continue;
      }
      if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() > now.getTime() + earlyToleranceMs) {
        parked.set(delivery.id, null);
        continue;
      }
      const openUntil = webhook.circuitOpenUntil;
      if (openUntil && openUntil > now) {
        parked.set(delivery.id, openUntil);
        continue;
      }
      if (openUntil) {
        // Half-open: this delivery is the probe; the circuit counts as open while it is out.
        webhook.circuitOpenUntil = leaseEnd;
        probes.push(webhook.id);
      }
      lease.push(delivery.id);
      claimed.set(delivery.id, { send: sendable(delivery, webhook, eventById.get(delivery.eventId)!, now, leaseEnd) });
    }
    if (orphaned.length > 0) {
      await tx.update(deliveries).set({ status: "dead_letter", deadLetteredAt: now, nextAttemptAt: null, leasedUntil: null }).where(inArray(deliveries.id, orphaned));
    }
    if (parked.size > 0) await park(tx, [...parked].map(([id, until]) => ({ id, until })));
    if (lease.length > 0) await tx.update(deliveries).set({ leasedUntil: leaseEnd }).where(inArray(deliveries.id, lease));
    if (probes.length > 0) await tx.update(webhooks).set({ circuitOpenUntil: leaseEnd }).where(inArray(webhooks.id, probes));
    return claimed;
  });
}

export interface Parking {
  id: string;
  /** Due no earlier than this; null: when it was due anyway. */
  until: Date | null;
  /** The parking worker holds its lease and gives it up. */
  release?: boolean;
}

/**
 * Hands deliveries back to the outbox under a new generation, so the
 * scheduler's job is new to JetStream's duplicate window. A delivery another
 * worker leased meanwhile is left alone.
 */
export async function park(db: WebhookDb, parkings: Parking[]): Promise<void> {
  await db.execute(sql`
    update ${deliveries} as d set
      enqueued_at = null, generation = d.generation + 1,
      next_attempt_at = greatest(coalesce(d.next_attempt_at, now()), coalesce(p.until, now())),
      leased_until = case when p.release then null else d.leased_until end
    from unnest(
      ${sql.param(parkings.map((p) => p.id))}::text[],
      ${sql.param(parkings.map((p) => p.until?.toISOString() ?? null))}::timestamptz[],
      ${sql.param(parkings.map((p) => p.release ?? false))}::boolean[]
    ) as p(id, until, release)
    where d.id = p.id and d.status in ('pending', 'retrying') and (p.release or d.leased_until is null or d.leased_until <= now())`);
}

// The worker's write path, straight on the webhooks schema: a batch of attempt
// results in one transaction (group commit). Decides each delivery's fate:
// delivered, dead letter, or a retry whose due time goes to Postgres (the
// scheduler publishes it when due; the job itself is acknowledged). Keeps each
// webhook's circuit breaker, and disables webhooks that answer 410 Gone or
// have failed with no success for the auto-disable period.
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DeliveryAttempt } from "../../../gen/onering/v1/webhook_pb.js";
import type { MeshConfig } from "../../shared/config.js";
import { insertEvent, type NewDelivery } from "../eventStore.js";
import { retryDelayMs } from "../retryPolicy.js";
import { attempts, deliveries, webhooks } from "../schema.js";
import type { DeliveryRow, WebhookRow, WebhookDb } from "../webhookDb.js";

/** One attempt as the worker made it. */
export interface AttemptResult {
  deliveryId: string;
  attempt: DeliveryAttempt;
  /** The receiver's Retry-After on a 429 or 503, in milliseconds; 0 if none. */
  retryAfterMs: number;
}

export const maxResponseBodyChars = 4096;

/** One attempt's effect, reported to MetricsService: a failed attempt, or a delivery that settled. */
export interface SettledAttempt {
  outcome: "delivered" | "failed" | "dead_letter";
  deliveryId: string;
  /** Attempts made so far on the delivery. */
  attempts: number;
  /** From the delivery's creation (the event's acceptance) to now, for delivered. */
  latencyMs: number;
}

export interface RecordOutcome {
  /** Deliveries created by `endpoint.disabled` events, for the outbox relay. */
  newDeliveries: NewDelivery[];
  disabled: { webhookId: string; reason: string }[];
  /** Webhooks whose circuit opened from closed in this batch. */
  circuitsOpened: string[];
  outcomes: { delivered: number; retried: number; deadLettered: number };
  settled: SettledAttempt[];
}

const isSuccess = (status: number) => status >= 200 && status < 300;

// Locks are taken deliveries first, then webhooks, each in id order, as
// everywhere else, so concurrent batches and deletes cannot deadlock.
export async function recordAttempts(db: WebhookDb, results: AttemptResult[], config: MeshConfig["webhooks"]): Promise<RecordOutcome> {
  return db.transaction(async (tx) => {
    const ids = [...new Set(results.map((r) => r.deliveryId))];
    const rows = ids.length === 0 ? [] : await tx.select().from(deliveries).where(inArray(deliveries.id, ids)).orderBy(deliveries.id).for("update");
    const byId = new Map(rows.map((r) => [r.id, r]));
    const hookIds = [...new Set(rows.map((r) => r.webhookId))];
    const hooks = hookIds.length === 0 ? [] : await tx.select().from(webhooks).where(inArray(webhooks.id, hookIds)).orderBy(webhooks.id).for("update");
    const hookById = new Map(hooks.map((s) => [s.id, s]));
    const hooksBefore = new Map(hooks.map((s) => [s.id, webhookHealth(s)]));
    const circuitWasOpen = new Set(hooks.filter((s) => s.circuitOpenUntil).map((s) => s.id));
    const now = new Date();
    const outcome: RecordOutcome = { newDeliveries: [], disabled: [], circuitsOpened: [], outcomes: { delivered: 0, retried: 0, deadLettered: 0 }, settled: [] };
    const settle = (kind: SettledAttempt["outcome"], d: DeliveryRow) =>
      outcome.settled.push({ outcome: kind, deliveryId: d.id, attempts: d.attemptCount, latencyMs: now.getTime() - d.createdAt.getTime() });
    const attemptRows: (typeof attempts.$inferInsert)[] = [];
    const disable = (hook: WebhookRow, reason: string) => {
      if (!hook.enabled) return;
      hook.enabled = false;
      hook.disabledReason = reason;
      outcome.disabled.push({ webhookId: hook.id, reason });
    };

    for (const result of results) {
      const delivery = byId.get(result.deliveryId);
      const attempt = result.attempt;
      // A stale or duplicate report (the delivery moved on) changes nothing.
      if (!delivery || attempt.number !== delivery.attemptCount + 1 || !["pending", "retrying"].includes(delivery.status)) continue;
      const attemptTime = attempt.attemptTime ? timestampDate(attempt.attemptTime) : now;
      attemptRows.push({
        deliveryId: delivery.id,
        number: attempt.number,
        statusCode: attempt.statusCode,
        error: attempt.error.slice(0, 1024),
        responseBody: attempt.responseBody.slice(0, maxResponseBodyChars),
        durationMs: Number(attempt.durationMs),
        attemptedAt: attemptTime,
        traceId: attempt.traceId,
      });
      delivery.attemptCount = attempt.number;
      delivery.leasedUntil = null;
      const hook = hookById.get(delivery.webhookId);
      if (isSuccess(attempt.statusCode)) {
        Object.assign(delivery, { status: "delivered", deliveredAt: now, nextAttemptAt: null });
        if (hook) Object.assign(hook, { failingSince: null, consecutiveFailures: 0, circuitOpenUntil: null });
        outcome.outcomes.delivered++;
        settle("delivered", delivery);
        continue;
      }
      if (hook) {
        hook.failingSince ??= attemptTime;
        // At the threshold the circuit opens, and every failure past it (a failed probe) opens it again.
        if (++hook.consecutiveFailures >= config.circuitFailures) {
          // Counted (and logged) when it opens, not for every attempt that was already out when it did.
          const wasOpen = hook.circuitOpenUntil !== null && hook.circuitOpenUntil > now;
          hook.circuitOpenUntil = new Date(now.getTime() + config.circuitCooldownSeconds * 1000);
          if (!wasOpen && !outcome.circuitsOpened.includes(hook.id)) outcome.circuitsOpened.push(hook.id);
        }
        if (attempt.statusCode === 410) disable(hook, "the receiver answered 410 Gone");
        else if (now.getTime() - hook.failingSince.getTime() >= config.autoDisableSeconds * 1000) {
          disable(hook, `failing with no success since ${hook.failingSince.toISOString()}`);
        }
      }
      settle("failed", delivery);
      const made = delivery.attemptCount - delivery.attemptBase;
      if (made >= config.maxAttempts || attempt.statusCode === 410 || (hook && !hook.enabled)) {
        Object.assign(delivery, { status: "dead_letter", deadLetteredAt: now, nextAttemptAt: null });
        outcome.outcomes.deadLettered++;
        settle("dead_letter", delivery);
        continue;
      }
      const delay = retryDelayMs({ attemptsMade: made, backoffSeconds: config.backoffSeconds, retryAfterMs: result.retryAfterMs });
      // Back to the outbox under a new generation: the scheduler publishes it when due.
      Object.assign(delivery, { status: "retrying", nextAttemptAt: new Date(now.getTime() + delay), enqueuedAt: null, generation: delivery.generation + 1 });
      outcome.outcomes.retried++;
    }

    if (attemptRows.length > 0) await tx.insert(attempts).values(attemptRows);
    if (rows.length > 0) await updateDeliveries(tx, rows);
    // Most batches are successes on healthy webhooks: nothing to write back.
    for (const s of hooks.filter((hook) => webhookHealth(hook) !== hooksBefore.get(hook.id))) {
      await tx
        .update(webhooks)
        .set({
          enabled: s.enabled,
          disabledReason: s.disabledReason,
          failingSince: s.failingSince,
          consecutiveFailures: s.consecutiveFailures,
          circuitOpenUntil: s.circuitOpenUntil,
          updatedAt: s.enabled ? s.updatedAt : now,
        })
        .where(eq(webhooks.id, s.id));
    }
    // A probe that got through closes the circuit: the webhook's waiting deliveries are due now rather than after their parking.
    // Rows another transaction holds are skipped, not waited for: this one already locks webhooks, which come second.
    const closed = hooks.filter((hook) => circuitWasOpen.has(hook.id) && !hook.circuitOpenUntil).map((hook) => hook.id);
    if (closed.length > 0) {
      const waiting = tx
        .select({ id: deliveries.id })
        .from(deliveries)
        .where(and(inArray(deliveries.webhookId, closed), isNull(deliveries.enqueuedAt), inArray(deliveries.status, ["pending", "retrying"])))
        .for("update", { skipLocked: true });
      await tx.update(deliveries).set({ nextAttemptAt: now }).where(inArray(deliveries.id, waiting));
    }
    for (const { webhookId, reason } of outcome.disabled) {
      const hook = hookById.get(webhookId)!;
      const data: JsonObject = { webhook_id: webhookId, url: hook.url, reason, disabled_at: now.toISOString() };
      const { deliveries: created } = await insertEvent(tx, { type: "endpoint.disabled", data }, { kind: "owner-others", owner: hook.ownerKeyId, exceptId: webhookId });
      outcome.newDeliveries.push(...created);
    }
    return outcome;
  });
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The webhook fields an attempt can change. */
const webhookHealth = (s: WebhookRow) => `${s.enabled}|${s.disabledReason}|${iso(s.failingSince)}|${s.consecutiveFailures}|${iso(s.circuitOpenUntil)}`;

/** Writes the batch's new delivery states in one statement rather than one round trip per delivery. */
async function updateDeliveries(tx: WebhookDb, rows: DeliveryRow[]): Promise<void> {
  await tx.execute(sql`
    update ${deliveries} as d set
      status = u.status, attempt_count = u.attempt_count, next_attempt_at = u.next_attempt_at,
      delivered_at = u.delivered_at, dead_lettered_at = u.dead_lettered_at, leased_until = u.leased_until,
      enqueued_at = u.enqueued_at, generation = u.generation
    from unnest(
      ${sql.param(rows.map((r) => r.id))}::text[], ${sql.param(rows.map((r) => r.status))}::text[], ${sql.param(rows.map((r) => r.attemptCount))}::int[],
      ${sql.param(rows.map((r) => iso(r.nextAttemptAt)))}::timestamptz[], ${sql.param(rows.map((r) => iso(r.deliveredAt)))}::timestamptz[],
      ${sql.param(rows.map((r) => iso(r.deadLetteredAt)))}::timestamptz[], ${sql.param(rows.map((r) => iso(r.leasedUntil)))}::timestamptz[],
      ${sql.param(rows.map((r) => iso(r.enqueuedAt)))}::timestamptz[], ${sql.param(rows.map((r) => r.generation))}::int[]
    ) as u(id, status, attempt_count, next_attempt_at, delivered_at, dead_lettered_at, leased_until, enqueued_at, generation)
    where d.id = u.id`);
}

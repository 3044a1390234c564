// Reading and replaying deliveries, and the outbox queries of the relay.
import { and, asc, count, desc, eq, gte, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import { currentTraceParent } from "../shared/tracing.js";
import type { DeliveryJob } from "./deliveryJobs.js";
import { after, cursorTimeOf, type Cursor } from "./pageToken.js";
import { attempts, deliveries, events, replayRejections, webhooks } from "./schema.js";
import type { AttemptRow, DeliveryRow, WebhookDb } from "./webhookDb.js";

export interface DeliveryView {
  delivery: DeliveryRow;
  eventType: string;
  attempts: AttemptRow[];
}

/** A listed delivery with its page cursor. */
export interface ListedDelivery extends DeliveryView {
  cursor: Cursor;
}

export interface DeadLetterFilter {
  webhookId?: string;
  eventType?: string;
  since?: Date;
}

const unfinished = inArray(deliveries.status, ["pending", "retrying"]);

/** Why a replay left a delivery as it was: queued, it could never be sent. */
export type ReplaySkipReason = "webhook_disabled" | "webhook_deleted";

/** A delivery a replay queued again: its new job, and the status and trace it replaced. */
export interface ReplayedDelivery extends Pick<DeliveryRow, "id" | "webhookId" | "generation" | "traceParent"> {
  previousStatus: string;
}

/** A delivery a replay matched and left unchanged. */
export interface SkippedDelivery extends Pick<DeliveryRow, "id" | "webhookId"> {
  reason: ReplaySkipReason;
  /** The platform's words for a disabled webhook (e.g. a 410), empty if none. */
  disabledReason: string;
}

export interface ReplayResult {
  replayed: ReplayedDelivery[];
  skipped: SkippedDelivery[];
}

/**
 * Fields reset when a delivery is sent again under its id: a fresh attempt
 * budget and a new job, in the replaying request's trace (when traced).
 */
const requeued = (traceParent: string | undefined) =>
  ({
    status: "pending",
    attemptBase: sql`${deliveries.attemptCount}`,
    generation: sql`${deliveries.generation} + 1`,
    nextAttemptAt: sql`now()`,
    deadLetteredAt: null,
    deliveredAt: null,
    leasedUntil: null,
    enqueuedAt: null,
    traceParent: traceParent ?? sql`${deliveries.traceParent}`,
  }) as const;

export class DeliveryStore {
  constructor(private readonly db: WebhookDb) {}

  private async withAttempts<R extends { delivery: DeliveryRow; eventType: string }>(rows: R[]): Promise<Array<R & { attempts: AttemptRow[] }>> {
    if (rows.length === 0) return [];
    const all = await this.db
      .select()
      .from(attempts)
      .where(inArray(attempts.deliveryId, rows.map((r) => r.delivery.id)))
      .orderBy(asc(attempts.number));
    return rows.map((r) => ({ ...r, attempts: all.filter((a) => a.deliveryId === r.delivery.id) }));
  }

  /** Newest first, from after the cursor; up to limit rows plus one that tells whether another page follows. */
  async list(webhookId: string, status: string, limit: number, from: Cursor | undefined): Promise<ListedDelivery[]> {
    const conditions = [eq(deliveries.webhookId, webhookId)];
    if (status) conditions.push(eq(deliveries.status, status));
    if (from) conditions.push(after(deliveries.createdAt, deliveries.id, from));
    const rows = await this.db
      .select({ delivery: deliveries, eventType: events.type, time: cursorTimeOf(deliveries.createdAt) })
      .from(deliveries)
      .innerJoin(events, eq(events.id, deliveries.eventId))
      .where(and(...conditions))
      .orderBy(desc(deliveries.createdAt), desc(deliveries.id))
      .limit(limit + 1);
    return this.listed(rows);
  }

  private async listed(rows: Array<{ delivery: DeliveryRow; eventType: string; time: string }>): Promise<ListedDelivery[]> {
    return (await this.withAttempts(rows)).map(({ time, ...view }) => ({ ...view, cursor: { time, id: view.delivery.id } }));
  }

  async get(id: string): Promise<DeliveryView | undefined> {
    const rows = await this.db
      .select({ delivery: deliveries, eventType: events.type })
      .from(deliveries)
      .innerJoin(events, eq(events.id, deliveries.eventId))
      .where(eq(deliveries.id, id));
    return (await this.withAttempts(rows))[0];
  }

  private deadLetterWhere(filter: DeadLetterFilter): SQL {
    const conditions = [eq(deliveries.status, "dead_letter")];
    if (filter.webhookId) conditions.push(eq(deliveries.webhookId, filter.webhookId));
    if (filter.eventType) conditions.push(eq(events.type, filter.eventType));
    if (filter.since) conditions.push(gte(deliveries.deadLetteredAt, filter.since));
    return and(...conditions)!;
  }

  /** Most recently dead-lettered first, from after the cursor; up to limit rows plus one. */
  async deadLetters(filter: DeadLetterFilter, limit: number, from: Cursor | undefined): Promise<ListedDelivery[]> {
    const where = this.deadLetterWhere(filter);
    const rows = await this.db
      .select({ delivery: deliveries, eventType: events.type, time: cursorTimeOf(deliveries.deadLetteredAt) })
      .from(deliveries)
      .innerJoin(events, eq(events.id, deliveries.eventId))
      .where(from ? and(where, after(deliveries.deadLetteredAt, deliveries.id, from)) : where)
      .orderBy(desc(deliveries.deadLetteredAt), desc(deliveries.id))
      .limit(limit + 1);
    return this.listed(rows);
  }

  /** Queues one delivery again under its id; both lists are empty when there is no such delivery. */
  replay(id: string): Promise<ReplayResult> {
    return this.requeue(eq(deliveries.id, id));
  }

  replayDeadLetters(filter: DeadLetterFilter): Promise<ReplayResult> {
    return this.requeue(this.deadLetterWhere(filter));
  }

  /**
   * Queues the matching deliveries again, except those whose webhook is
   * disabled or deleted: nothing would send them, so they stay exactly as they
   * were (a dead letter stays listed). One statement decides and writes,
   * so a replay is never half done; the matched rows are locked first, so the
   * previous status reported is the one replaced. A paused webhook takes
   * replays: its deliveries wait in the outbox until it resumes.
   */
  private async requeue(where: SQL): Promise<ReplayResult> {
    const matching = this.db.select({ id: deliveries.id }).from(deliveries).innerJoin(events, eq(events.id, deliveries.eventId)).where(where);
    // Read by subqueries, not an outer join, so that a plain FOR UPDATE locks just the
    // deliveries (the join would need "FOR UPDATE OF", which drizzle schema-qualifies and Postgres refuses).
    const webhook = (column: typeof webhooks.enabled | typeof webhooks.disabledReason) =>
      sql`(select ${column} from ${webhooks} where ${webhooks.id} = ${deliveries.webhookId})`;
    const candidates = this.db.$with("candidates").as(
      this.db
        .select({
          id: deliveries.id,
          webhookId: deliveries.webhookId,
          previousStatus: sql<string>`${deliveries.status}`.as("previous_status"),
          traceParent: sql<string | null>`${deliveries.traceParent}`.as("previous_trace_parent"),
          disabledReason: sql<string>`coalesce(${webhook(webhooks.disabledReason)}, '')`.as("disabled_reason"),
          skip: sql<ReplaySkipReason | null>`case ${webhook(webhooks.enabled)} when true then null when false then 'webhook_disabled' else 'webhook_deleted' end`.as("skip"),
        })
        .from(deliveries)
        .where(inArray(deliveries.id, matching))
        .for("update"),
    );
    const replayed = this.db.$with("replayed").as(
      this.db
        .update(deliveries)
        .set(requeued(currentTraceParent()))
        .where(inArray(deliveries.id, this.db.select({ id: candidates.id }).from(candidates).where(isNull(candidates.skip))))
        .returning({ id: deliveries.id, generation: deliveries.generation }),
    );
    const rows = await this.db
      .with(candidates, replayed)
      .select({
        id: candidates.id,
        webhookId: candidates.webhookId,
        previousStatus: candidates.previousStatus,
        traceParent: candidates.traceParent,
        disabledReason: candidates.disabledReason,
        skip: candidates.skip,
        generation: replayed.generation,
      })
      .from(candidates)
      .leftJoin(replayed, eq(replayed.id, candidates.id));
    const result: ReplayResult = { replayed: [], skipped: [] };
    for (const { skip, generation, previousStatus, disabledReason, traceParent, ...row } of rows) {
      if (skip) result.skipped.push({ ...row, reason: skip, disabledReason });
      else result.replayed.push({ ...row, generation: generation!, previousStatus, traceParent });
    }
    return result;
  }

  async stats(): Promise<{ byStatus: Map<string, number>; outboxBacklog: number; replayRejected24h: number; openCircuits: number }> {
    const groups = await this.db.select({ status: deliveries.status, n: count() }).from(deliveries).groupBy(deliveries.status);
    const [backlog] = await this.db.select({ n: count() }).from(deliveries).where(and(isNull(deliveries.enqueuedAt), unfinished));
    const [rejected] = await this.db
      .select({ n: count() })
      .from(replayRejections)
      .where(gte(replayRejections.rejectedAt, new Date(Date.now() - 24 * 3600 * 1000)));
    const [open] = await this.db.select({ n: count() }).from(webhooks).where(isNotNull(webhooks.circuitOpenUntil));
    return {
      byStatus: new Map(groups.map((g) => [g.status, Number(g.n)])),
      outboxBacklog: Number(backlog?.n ?? 0),
      replayRejected24h: Number(rejected?.n ?? 0),
      openCircuits: Number(open?.n ?? 0),
    };
  }

  /**
   * The scheduler's query: outbox rows due now, i.e. unfinished, not in
   * JetStream, due (a new delivery, a retry whose backoff is over, a parked
   * one whose wait is over), their webhook enabled, not paused and its
   * circuit not open. Only due work goes to JetStream.
   */
  outbox(limit: number): Promise<Pick<DeliveryRow, "id" | "webhookId" | "generation" | "traceParent">[]> {
    return this.db
      .select({ id: deliveries.id, webhookId: deliveries.webhookId, generation: deliveries.generation, traceParent: deliveries.traceParent })
      .from(deliveries)
      .innerJoin(webhooks, eq(webhooks.id, deliveries.webhookId))
      .where(
        and(
          isNull(deliveries.enqueuedAt),
          unfinished,
          or(isNull(deliveries.nextAttemptAt), lte(deliveries.nextAttemptAt, sql`now()`)),
          eq(webhooks.enabled, true),
          eq(webhooks.paused, false),
          or(isNull(webhooks.circuitOpenUntil), lte(webhooks.circuitOpenUntil, sql`now()`)),
        ),
      )
      .orderBy(asc(deliveries.createdAt))
      .limit(limit);
  }

  /** Rows of one webhook parked in the outbox, e.g. while it was paused. */
  parked(webhookId: string): Promise<Pick<DeliveryRow, "id" | "webhookId" | "generation" | "traceParent">[]> {
    return this.db
      .select({ id: deliveries.id, webhookId: deliveries.webhookId, generation: deliveries.generation, traceParent: deliveries.traceParent })
      .from(deliveries)
      .where(and(eq(deliveries.webhookId, webhookId), isNull(deliveries.enqueuedAt), unfinished));
  }

  /**
   * Marks jobs JetStream acknowledged; a row re-enqueued meanwhile (new
   * generation) stays in the outbox. Rows a claim or a recorded attempt holds
   * are skipped rather than waited for: marks lag by their linger, so they met
   * those statements on the same rows, locking them in another order, and
   * deadlocked. A skipped row's job is in JetStream already; if it stays
   * unmarked, the sweep relays it again and the duplicate window drops that.
   */
  async markEnqueued(jobs: DeliveryJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const ids = jobs.map((j) => j.deliveryId);
    const generations = jobs.map((j) => j.generation);
    const free = this.db
      .select({ id: deliveries.id })
      .from(deliveries)
      .where(sql`(${deliveries.id}, ${deliveries.generation}) in (select * from unnest(${sql.param(ids)}::text[], ${sql.param(generations)}::int[]))`)
      .for("update", { skipLocked: true });
    await this.db.update(deliveries).set({ enqueuedAt: new Date() }).where(inArray(deliveries.id, free));
  }

  /**
   * Postgres is the source of truth: deliveries due long ago, enqueued long ago
   * and not being sent go back to the outbox under a new generation, so even a
   * lost stream loses no delivery.
   */
  async reconcile(staleSeconds: number): Promise<number> {
    const stale = new Date(Date.now() - staleSeconds * 1000);
    const rows = await this.db
      .update(deliveries)
      .set({ enqueuedAt: null, generation: sql`${deliveries.generation} + 1` })
      .where(
        and(
          unfinished,
          isNotNull(deliveries.enqueuedAt),
          lt(deliveries.enqueuedAt, stale),
          lt(deliveries.nextAttemptAt, stale),
          or(isNull(deliveries.leasedUntil), lt(deliveries.leasedUntil, sql`now()`)),
        ),
      )
      .returning({ id: deliveries.id });
    return rows.length;
  }
}

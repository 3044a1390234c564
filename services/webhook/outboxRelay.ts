// Relays outbox rows to JetStream: right after a commit (event-to-delivery
// latency is a headline figure), and in a sweep every DELIVERY_LOOP_SECONDS for
// rows JetStream did not acknowledge, e.g. while NATS was down. The sweep also
// runs the reconciler. Acknowledged rows are marked in one statement per batch.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { MeshConfig } from "../shared/config.js";
import type { Logger } from "../shared/logger.js";
import { Batcher } from "./batcher.js";
import { deliverySubject, encodeJob, jobMessageId, type DeliveryJob } from "./deliveryJobs.js";
import { endRelaySpan, endSpan, startRelaySpan, type RelayTrigger } from "./deliveryTracing.js";
import type { DeliveryStore } from "./deliveryStore.js";
import { jobOf, type NewDelivery } from "./eventStore.js";

const sweepBatch = 500;
const publishTimeoutMs = 5000;
// Marking a relayed row is bookkeeping (an unmarked row is only relayed again,
// and JetStream drops the duplicate), so marks gather for a while: one UPDATE
// per 50 ms rather than one per event at a steady few hundred events/s.
const markLingerMs = 50;

export class OutboxRelay {
  private readonly marks: Batcher<DeliveryJob, undefined>;
  /** Relays started by kick(), so stop() can let them finish, their lingering marks included. */
  private readonly kicked = new Set<Promise<number>>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly store: DeliveryStore,
    private readonly config: MeshConfig,
    private readonly logger: Logger,
  ) {
    this.marks = new Batcher(async (jobs) => {
      await this.store.markEnqueued(jobs);
      return jobs.map(() => undefined);
    }, 1000, 1, markLingerMs);
  }

  /**
   * Relays freshly committed deliveries now; failures are left to the sweep.
   * A delivery whose webhook's circuit is open waits for the scheduler: sent
   * now, it would only be parked again, behind other webhooks' jobs.
   */
  kick(rows: NewDelivery[]): void {
    const due = rows.filter((row) => !row.waits);
    if (due.length === 0) return;
    const relayed = this.relay(due.map(jobOf), "publish").finally(() => this.kicked.delete(relayed));
    this.kicked.add(relayed);
  }

  private async relay(jobs: DeliveryJob[], trigger: RelayTrigger): Promise<number> {
    const subject = deliverySubject(this.config);
    const results = await Promise.allSettled(
      jobs.map(async (job) => {
        const traced = startRelaySpan(job, subject, trigger);
        try {
          const ack = await this.js.publish(subject, encodeJob(job), { msgID: jobMessageId(job), timeout: publishTimeoutMs, headers: traced?.headers });
          if (traced) endRelaySpan(traced, ack);
        } catch (err) {
          if (traced) endSpan(traced.span, err);
          throw err;
        }
        await this.marks.add(job);
      }),
    );
    const failed = results.filter((r) => r.status === "rejected");
    if (failed.length > 0) {
      this.logger.warn({ failed: failed.length, err: String((failed[0] as PromiseRejectedResult).reason) }, "outbox relay failed; the sweep retries");
    }
    return jobs.length - failed.length;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.sweeping = this.sweep().finally(() => {
        this.timer = setTimeout(loop, this.config.webhooks.deliveryLoopSeconds * 1000);
      });
    };
    loop();
  }

  /** One pass: re-enqueue stale deliveries, then relay the outbox until it is empty or JetStream fails. */
  async sweep(): Promise<void> {
    try {
      const reconciled = await this.store.reconcile(this.config.webhooks.reconcileAfterSeconds);
      if (reconciled > 0) this.logger.warn({ reconciled }, "re-enqueued stale deliveries");
      for (;;) {
        const rows = await this.store.outbox(sweepBatch);
        if (rows.length === 0) return;
        const relayed = await this.relay(rows.map(jobOf), "schedule");
        if (relayed < rows.length || rows.length < sweepBatch) return;
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "outbox sweep failed");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
    await Promise.allSettled([...this.kicked]);
  }
}

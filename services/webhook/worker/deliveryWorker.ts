// The delivery worker: pulls due jobs from the durable consumer, leases them in
// batches, sends each, and records results in batches, straight on the
// webhooks schema (no RPC per attempt). Every job is acknowledged once its
// delivery is settled for now: a retry's due time, like any other wait, lives
// in Postgres, and the scheduler publishes it again when due. So no job holds
// an ack-pending slot while it waits, and one webhook's backlog cannot starve
// another's. While `webhooks_delivery_enabled` is off it pulls nothing.
import type { Consumer, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { MeshConfig } from "../../shared/config.js";
import type { Logger } from "../../shared/logger.js";
import type { RuntimeFlags } from "../../shared/runtimeFlags.js";
import { Batcher } from "../batcher.js";
import { ackWaitMs, decodeJob, deliveryStreamName, workerConsumerName, type DeliveryJob } from "../deliveryJobs.js";
import { traceAttempt, traceJob } from "../deliveryTracing.js";
import type { OutboxRelay } from "../outboxRelay.js";
import type { AttemptResult } from "./attemptStore.js";
import type { Claim, ClaimedDelivery, Parking } from "./claimStore.js";
import { WebhookSlots } from "./webhookSlots.js";
import { DeliveryAgents } from "./deliveryAgents.js";
import { sendAttempt, type SendOptions } from "./sendAttempt.js";
import type { WorkerMetrics } from "./workerMetrics.js";
import type { WorkerStore } from "./workerStore.js";

const fetchExpiresMs = 1000;
// Jobs that may wait in a worker per webhook slot. A job beyond that goes back
// to Postgres for a moment (parked) instead of into the stream with a delay,
// where it would hold one of the consumer's ack-pending slots that every
// webhook shares. A pull asks for half a queue.
const waitingPerSlot = 8;
// Jobs claimed ahead per webhook slot, so claims go in batches larger than the
// cap while earlier jobs are being sent. A claimed job waits for a send slot at
// most until too little of its lease is left for a whole attempt; then it is parked.
const claimAheadPerSlot = 4;
const leaseMarginMs = 1000;
// A webhook with a crowded queue none of whose attempts finished for this
// long is stuck (hanging or timing out), not merely busy.
const stalledAfterMs = 250;
// While a busy webhook's queue is crowded the pull waits for room (at most
// this long), so that webhook drains at full speed without parking.
const busyWaitMs = 1000;
// Jobs pulled at once while a stuck webhook's backlog stands before everyone
// else's in the stream: most get parked, so the pull goes through it in big steps.
const throughBacklogBatch = 500;
// A job of a busy webhook at its cap comes back from the outbox after this; a
// stuck webhook's after an attempt timeout, when its slots may be free.
const busyParkMs = 1000;
// When Postgres cannot be reached, the job comes back from the stream after this.
const serviceDownDelayMs = 1000;
// A job that waited longer than this since its ack-wait started has it renewed before its attempt.
const ackWaitRenewAfterMs = 1000;
const recordTries = 3;
// Claim and record batches in flight at once: a job arriving during a round trip starts its own.
const claimsInFlight = 4;
const recordsInFlight = 2;

interface QueuedJob {
  msg: JsMsg;
  job: DeliveryJob;
  /** When the message's JetStream ack-wait last started: its arrival, or our last working(). */
  ackWaitFrom: number;
}

function renewAckWait(queued: QueuedJob): void {
  queued.msg.working();
  queued.ackWaitFrom = Date.now();
}

export interface DeliveryWorkerDeps {
  store: WorkerStore;
  /** Relays the deliveries of `endpoint.disabled` events that recording creates. */
  relay: OutboxRelay;
  config: MeshConfig;
  flags: RuntimeFlags;
  logger: Logger;
  metrics: WorkerMetrics;
}

export class DeliveryWorker {
  private readonly slots: WebhookSlots<QueuedJob>;
  private readonly senders: WebhookSlots<() => void>;
  private readonly fetchBatch: number;
  private readonly sendOptions: SendOptions;
  private readonly agents: DeliveryAgents;
  private readonly claims: Batcher<string, Claim>;
  private readonly records: Batcher<AttemptResult, undefined>;
  private readonly parkings: Batcher<Parking, undefined>;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private progress: NodeJS.Timeout | undefined;
  ready = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    const w = deps.config.webhooks;
    this.slots = new WebhookSlots(w.endpointConcurrency * claimAheadPerSlot, w.endpointConcurrency * waitingPerSlot, (queued) => this.begin(queued));
    this.senders = new WebhookSlots(w.endpointConcurrency, Infinity, (go) => go());
    this.fetchBatch = Math.max(1, (w.endpointConcurrency * waitingPerSlot) / 2);
    this.sendOptions = { timeoutMs: w.attemptTimeoutSeconds * 1000, allowPrivateUrls: w.allowPrivateUrls };
    this.agents = new DeliveryAgents(this.sendOptions, w.endpointConcurrency);
    this.claims = new Batcher((ids) => deps.store.claim(ids), 500, claimsInFlight);
    this.records = new Batcher(async (results) => {
      const outcome = await deps.store.record(results);
      deps.metrics.recorded(outcome);
      for (const d of outcome.disabled) deps.logger.warn({ webhook: d.webhookId, reason: d.reason }, "webhook disabled");
      for (const id of outcome.circuitsOpened) deps.logger.warn({ webhook: id, cooldown_seconds: w.circuitCooldownSeconds }, "webhook circuit opened");
      deps.relay.kick(outcome.newDeliveries);
      return results.map(() => undefined);
    }, 500, recordsInFlight);
    this.parkings = new Batcher(async (parkings) => {
      await deps.store.park(parkings);
      return parkings.map(() => undefined);
    }, 1000, 2);
    deps.flags.onChange((flag) => {
      if (flag.name === "webhooks_delivery_enabled" && flag.enabled) this.wake?.();
    });
  }

  start(consumer: Consumer): void {
    this.ready = true;
    this.loop = this.pull(consumer);
    // Jobs queued behind their webhook's cap keep their JetStream ack-wait until their turn.
    this.progress = setInterval(() => {
      for (const queued of this.slots.waiting()) renewAckWait(queued);
    }, ackWaitMs(this.deps.config) / 3);
  }

  private sending(): boolean {
    return this.deps.flags.enabled("webhooks_delivery_enabled");
  }

  private async pull(consumer: Consumer): Promise<void> {
    let throughBacklog = false;
    while (!this.stopping) {
      if (!this.sending()) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // Also re-check now and then, so a stop is noticed.
          setTimeout(resolve, 1000);
        });
        continue;
      }
      // Behind a busy webhook the pull waits for room; behind a stuck one it goes through
      // the stuck webhook's backlog in big steps, parking it, so other webhooks' jobs come through.
      const stuck: boolean = this.slots.crowded && (throughBacklog || this.slots.crowdedAndStalled(stalledAfterMs));
      if (this.slots.crowded && !stuck) await this.roomWithin(busyWaitMs);
      const batch = stuck ? throughBacklogBatch : this.fetchBatch;
      try {
        const messages = await consumer.fetch({ max_messages: batch, expires: fetchExpiresMs });
        const parked: Promise<void>[] = [];
        let pulled = 0;
        for await (const msg of messages) {
          pulled++;
          const parking = this.accept(msg);
          if (parking) parked.push(parking);
        }
        throughBacklog = stuck && parked.length * 2 > pulled;
        // Parking is the pull's back-pressure: what it pulled is settled before it pulls more.
        await Promise.all(parked);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, "fetching delivery jobs failed; retrying");
        await new Promise((r) => setTimeout(r, serviceDownDelayMs));
      }
    }
  }

  private roomWithin(ms: number): Promise<boolean> {
    return Promise.race([this.slots.room().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
  }

  /** Admits a job for its webhook, or parks it (the returned promise) when the webhook is at its cap. */
  private accept(msg: JsMsg): Promise<void> | undefined {
    const job = decodeJob(msg.string());
    if (!job) {
      this.deps.logger.error({ seq: msg.seq }, "malformed delivery job dropped");
      msg.term();
      return;
    }
    if (this.stopping || !this.sending()) {
      msg.nak();
      return;
    }
    if (this.slots.offer(job.webhookId, { msg, job, ackWaitFrom: Date.now() })) return;
    this.deps.metrics.parkedJobs(1);
    const parkMs = this.slots.stalled(job.webhookId, stalledAfterMs) ? this.sendOptions.timeoutMs : busyParkMs;
    return this.settleByParking(msg, { id: job.deliveryId, until: new Date(Date.now() + parkMs) });
  }

  private settleByParking(msg: JsMsg, parking: Parking): Promise<void> {
    return this.parkings.add(parking).then(
      () => msg.ack(),
      (err: unknown) => {
        this.deps.logger.warn({ err: (err as Error).message }, "parking a delivery failed");
        msg.nak(serviceDownDelayMs);
      },
    );
  }

  /** The job is admitted for its webhook (at once, or after waiting in its webhook's queue). */
  private begin(queued: QueuedJob): void {
    const { msg, job } = queued;
    if (this.stopping || !this.sending()) {
      msg.nak();
      return this.slots.release(job.webhookId);
    }
    const task = this.handle(queued).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** One job, in its trace when tracing is on. */
  private handle(queued: QueuedJob): Promise<void> {
    return traceJob(queued.msg, queued.job, () => this.settle(queued));
  }

  // The webhook's slots cover claiming and sending only: recording is a batched
  // round trip of its own, and holding a slot through it would cap a webhook at
  // its slots per record latency however fast the receiver answers.
  private async settle(queued: QueuedJob): Promise<void> {
    let result: AttemptResult | undefined;
    try {
      result = await this.claimAndSend(queued);
    } finally {
      this.slots.release(queued.job.webhookId);
    }
    if (result) await this.record(queued.msg, result);
  }

  /** The attempt's result, or nothing when the job was settled without a send. */
  private async claimAndSend(queued: QueuedJob): Promise<AttemptResult | undefined> {
    const { msg, job } = queued;
    let claim: Claim;
    try {
      claim = await this.claims.add(job.deliveryId);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, "claiming deliveries failed");
      msg.nak(serviceDownDelayMs);
      return;
    }
    if (!claim) return void msg.ack();
    if ("deferMs" in claim) return void msg.nak(claim.deferMs);
    const delivery: ClaimedDelivery = claim.send;

    await new Promise<void>((go) => this.senders.offer(job.webhookId, go));
    try {
      // Sent and recorded only within the claim's lease, so no other worker can be sending it too.
      if (delivery.leasedUntil.getTime() - Date.now() < this.sendOptions.timeoutMs + leaseMarginMs) {
        this.deps.metrics.parkedJobs(1);
        return void (await this.settleByParking(msg, { id: delivery.id, until: null, release: true }));
      }
      // The attempt and its record get nearly the whole ack-wait, however long
      // the job waited. Renewing only a job that waited saves a NATS write per
      // delivery: at full speed a quarter of the worker's CPU, half of NATS's.
      if (Date.now() - queued.ackWaitFrom > ackWaitRenewAfterMs) renewAckWait(queued);
      const result = await traceAttempt(delivery, (traceHeaders) => sendAttempt(this.agents.for(delivery.webhookId), delivery, this.sendOptions, traceHeaders));
      const attempt = result.attempt;
      this.deps.metrics.observe(attempt.statusCode, attempt.error, Number(attempt.durationMs) / 1000);
      if (attempt.error) this.deps.logger.info({ delivery: delivery.id, attempt: attempt.number, error: attempt.error }, "delivery attempt failed");
      return result;
    } finally {
      this.senders.release(job.webhookId);
    }
  }

  private async record(msg: JsMsg, result: AttemptResult): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.records.add(result);
        return msg.ack();
      } catch (err) {
        if (tries >= recordTries) {
          // The job comes back and, once the lease is over, is sent again: at least once, never lost.
          this.deps.logger.warn({ delivery: result.deliveryId, err: (err as Error).message }, "recording attempt failed");
          return msg.nak(serviceDownDelayMs);
        }
        await new Promise((r) => setTimeout(r, serviceDownDelayMs * tries));
      }
    }
  }

  /** Stops pulling and lets in-flight attempts finish and be recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    this.wake?.();
    clearInterval(this.progress);
    await this.loop;
    for (const { msg } of this.slots.takeWaiting()) msg.nak();
    await Promise.allSettled([...this.inFlight]);
    await this.agents.close();
  }
}

export async function workerConsumer(js: JetStreamClient, config: MeshConfig): Promise<Consumer> {
  return js.consumers.get(deliveryStreamName(config), workerConsumerName(config));
}

// The delivery worker: pulls jobs from the durable consumer, leases them in
// batches through ClaimDeliveries, sends each, and reports results in batches
// through RecordAttempts, which says whether to retry (nak with delay) or not
// (ack). It never opens the database. While `webhooks_delivery_enabled` is off
// it pulls nothing, so jobs wait in the stream and deliveries stay pending.
import type { Client } from "@connectrpc/connect";
import type { Consumer, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { ClaimOutcome, WebhookService, type AttemptResult, type AttemptVerdict, type ClaimedDelivery } from "../../../gen/onering/v1/webhook_pb.js";
import type { MeshConfig } from "../../shared/config.js";
import type { Logger } from "../../shared/logger.js";
import type { RuntimeFlags } from "../../shared/runtimeFlags.js";
import { Batcher } from "../batcher.js";
import { ackWaitMs, decodeJob, deliveryStreamName, workerConsumerName, type DeliveryJob } from "../deliveryJobs.js";
import { EndpointSlots } from "./endpointSlots.js";
import { createDeliveryAgent, sendAttempt, type SendOptions } from "./sendAttempt.js";
import type { WorkerMetrics } from "./workerMetrics.js";

const fetchExpiresMs = 1000;
// Jobs that may wait in a worker per endpoint slot; beyond that a job comes
// back from the stream after the delay, so one busy endpoint cannot hold every
// unacknowledged job while other endpoints' jobs wait behind them. A pull asks
// for half a queue, so it fits into any queue that is at most half full.
const waitingPerSlot = 8;
// Jobs claimed ahead per endpoint slot, so claims go in batches larger than the
// cap while earlier jobs are being sent. A claimed job waits for a send slot at
// most until its lease could run out during the attempt; then it goes back.
const claimAheadPerSlot = 4;
const leaseMarginMs = 1000;
const endpointBusyDelayMs = 250;
// When the WebhookService cannot be reached, the job comes back after this.
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
  js: JetStreamClient;
  client: Client<typeof WebhookService>;
  config: MeshConfig;
  flags: RuntimeFlags;
  logger: Logger;
  metrics: WorkerMetrics;
}

export class DeliveryWorker {
  private readonly slots: EndpointSlots<QueuedJob>;
  private readonly senders: EndpointSlots<() => void>;
  private readonly fetchBatch: number;
  private readonly latestSendMs: number;
  private readonly sendOptions: SendOptions;
  private readonly agent;
  private readonly claims: Batcher<string, ClaimedDelivery>;
  private readonly records: Batcher<AttemptResult, AttemptVerdict>;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private progress: NodeJS.Timeout | undefined;
  ready = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    const w = deps.config.webhooks;
    this.slots = new EndpointSlots(w.endpointConcurrency * claimAheadPerSlot, w.endpointConcurrency * waitingPerSlot, (queued) => this.begin(queued));
    this.senders = new EndpointSlots(w.endpointConcurrency, Infinity, (go) => go());
    this.latestSendMs = ackWaitMs(deps.config) - w.attemptTimeoutSeconds * 1000 - leaseMarginMs;
    this.fetchBatch = Math.max(1, (w.endpointConcurrency * waitingPerSlot) / 2);
    this.sendOptions = { timeoutMs: w.attemptTimeoutSeconds * 1000, allowPrivateUrls: w.allowPrivateUrls, perEndpointConnections: w.endpointConcurrency };
    this.agent = createDeliveryAgent(this.sendOptions);
    this.claims = new Batcher(async (ids) => (await deps.client.claimDeliveries({ ids })).deliveries, 500, claimsInFlight);
    this.records = new Batcher(async (results) => (await deps.client.recordAttempts({ results })).verdicts, 500, recordsInFlight);
    deps.flags.onChange((flag) => {
      if (flag.name === "webhooks_delivery_enabled" && flag.enabled) this.wake?.();
    });
  }

  start(consumer: Consumer): void {
    this.ready = true;
    this.loop = this.pull(consumer);
    // Jobs queued behind their endpoint's cap keep their JetStream ack-wait until their turn.
    this.progress = setInterval(() => {
      for (const queued of this.slots.waiting()) renewAckWait(queued);
    }, ackWaitMs(this.deps.config) / 3);
  }

  private sending(): boolean {
    return this.deps.flags.enabled("webhooks_delivery_enabled");
  }

  private async pull(consumer: Consumer): Promise<void> {
    while (!this.stopping) {
      if (!this.sending()) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // Also re-check now and then, so a stop is noticed.
          setTimeout(resolve, 1000);
        });
        continue;
      }
      // While an endpoint's queue is crowded, pulling more would mostly turn its jobs away; others wait at most the busy delay.
      if (this.slots.crowded) await Promise.race([this.slots.room(), new Promise((r) => setTimeout(r, endpointBusyDelayMs))]);
      try {
        const messages = await consumer.fetch({ max_messages: this.fetchBatch, expires: fetchExpiresMs });
        for await (const msg of messages) this.accept(msg);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, "fetching delivery jobs failed; retrying");
        await new Promise((r) => setTimeout(r, serviceDownDelayMs));
      }
    }
  }

  private accept(msg: JsMsg): void {
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
    if (!this.slots.offer(job.webhookId, { msg, job, ackWaitFrom: Date.now() })) msg.nak(endpointBusyDelayMs);
  }

  /** The job is admitted for its endpoint (at once, or after waiting in its endpoint's queue). */
  private begin(queued: QueuedJob): void {
    const { msg, job } = queued;
    if (this.stopping || !this.sending()) {
      msg.nak();
      return this.slots.release(job.webhookId);
    }
    const task = this.handle(queued).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  // The endpoint's slots cover claiming and sending only: recording is a batched
  // round trip of its own, and holding a slot through it would cap an endpoint at
  // its slots per record latency however fast the receiver answers.
  private async handle(queued: QueuedJob): Promise<void> {
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
    const claimStarted = Date.now();
    let claimed: ClaimedDelivery;
    try {
      claimed = await this.claims.add(job.deliveryId);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, "claiming deliveries failed");
      msg.nak(serviceDownDelayMs);
      return;
    }
    if (claimed.outcome === ClaimOutcome.DEFER) return void msg.nak(Number(claimed.deferMs));
    if (claimed.outcome !== ClaimOutcome.SEND) return void msg.ack();

    await new Promise<void>((go) => this.senders.offer(job.webhookId, go));
    try {
      // Sent and recorded only within the claim's lease, so no other worker can be sending it too.
      if (Date.now() - claimStarted > this.latestSendMs) return void msg.nak();
      // The attempt and its record get nearly the whole ack-wait, however long
      // the job waited. Renewing only a job that waited saves a NATS write per
      // delivery: at full speed a quarter of the worker's CPU, half of NATS's.
      if (Date.now() - queued.ackWaitFrom > ackWaitRenewAfterMs) renewAckWait(queued);
      const result = await sendAttempt(this.agent, claimed, this.sendOptions);
      const attempt = result.attempt!;
      this.deps.metrics.observe(attempt.statusCode, attempt.error, Number(attempt.durationMs) / 1000);
      if (attempt.error) this.deps.logger.info({ delivery: claimed.id, attempt: attempt.number, error: attempt.error }, "delivery attempt failed");
      return result;
    } finally {
      this.senders.release(job.webhookId);
    }
  }

  private async record(msg: JsMsg, result: AttemptResult): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        const verdict = await this.records.add(result);
        return verdict.retry ? msg.nak(Number(verdict.retryDelayMs)) : msg.ack();
      } catch (err) {
        if (tries >= recordTries) {
          // The lease expires and the job comes back; at-least-once, never lost.
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
    await this.agent.close();
  }
}

export async function workerConsumer(js: JetStreamClient, config: MeshConfig): Promise<Consumer> {
  return js.consumers.get(deliveryStreamName(config), workerConsumerName(config));
}

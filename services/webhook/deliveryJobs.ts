// The JetStream side of deliveries: one file-backed stream of jobs whose
// duplicate window is the replay window, and one durable pull consumer shared
// by every worker. A job names a delivery; Postgres holds everything else.
import { AckPolicy, DeliverPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { MeshConfig } from "../shared/config.js";
import { retryTimeouts } from "../shared/nats.js";

export interface DeliveryJob {
  deliveryId: string;
  webhookId: string;
  /** Bumped on every re-enqueue, so the message id is new to the duplicate window. */
  generation: number;
  /** The trace it belongs to (stored with the delivery); travels as the message's traceparent header, not in the body. */
  traceParent?: string | null;
}

export function deliveryStreamName(config: Pick<MeshConfig, "natsPrefix">): string {
  return `${config.natsPrefix}_webhook_deliveries`;
}

export function deliverySubject(config: Pick<MeshConfig, "natsPrefix">): string {
  return `${config.natsPrefix}.webhooks.deliveries`;
}

export function workerConsumerName(config: Pick<MeshConfig, "natsPrefix">): string {
  return `${config.natsPrefix}_webhook_worker`;
}

/** The Nats-Msg-Id: the delivery id, plus the generation once it was re-enqueued. */
export function jobMessageId(job: DeliveryJob): string {
  return job.generation === 0 ? job.deliveryId : `${job.deliveryId}.${job.generation}`;
}

export function encodeJob(job: DeliveryJob): string {
  return JSON.stringify({ d: job.deliveryId, w: job.webhookId, g: job.generation });
}

export function decodeJob(data: string): DeliveryJob | undefined {
  try {
    const raw = JSON.parse(data) as { d?: unknown; w?: unknown; g?: unknown };
    if (typeof raw.d !== "string" || typeof raw.w !== "string" || typeof raw.g !== "number") return undefined;
    return { deliveryId: raw.d, webhookId: raw.w, generation: raw.g };
  } catch {
    return undefined;
  }
}

/** Longer than one attempt can take, so a slow receiver never causes a second send; also the claim lease. */
export function ackWaitMs(config: Pick<MeshConfig, "webhooks">): number {
  return Math.ceil(config.webhooks.attemptTimeoutSeconds * 1000) + 5000;
}

/** Every WebhookService and worker replica runs this at start, so the create may race another's. */
function addOrUpdate<T>(add: () => Promise<T>, update: () => Promise<T>): Promise<T> {
  return retryTimeouts(async () => {
    try {
      return await add();
    } catch {
      return update();
    }
  });
}

export async function ensureDeliveryStream(jsm: JetStreamManager, config: Pick<MeshConfig, "natsPrefix" | "natsReplicas" | "webhooks">): Promise<void> {
  const stream = {
    name: deliveryStreamName(config),
    subjects: [deliverySubject(config)],
    storage: StorageType.File,
    // The worker consumer inherits it, so a job and its ack state survive the loss of a server.
    num_replicas: config.natsReplicas,
    duplicate_window: nanos(config.webhooks.replayWindowSeconds * 1000),
  };
  await addOrUpdate(
    () => jsm.streams.add(stream),
    () => jsm.streams.update(stream.name, stream),
  );
}

export async function ensureWorkerConsumer(jsm: JetStreamManager, config: Pick<MeshConfig, "natsPrefix" | "webhooks">): Promise<void> {
  const consumer = {
    durable_name: workerConsumerName(config),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs(config)),
    max_ack_pending: config.webhooks.workerMaxInFlight,
    max_deliver: -1,
  };
  await addOrUpdate(
    () => jsm.consumers.add(deliveryStreamName(config), consumer),
    () => jsm.consumers.update(deliveryStreamName(config), consumer.durable_name, consumer),
  );
}

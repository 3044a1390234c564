// The JetStream stream that carries request and webhook records to
// MetricsService. Publishers batch records so the request path pays nothing
// measurable: one NATS message per few hundred records, sent off the hot path.
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { Counter, type Registry } from "prom-client";
import {
  RequestRecordBatchSchema,
  WebhookRecordBatchSchema,
  type RequestRecordSchema,
  type WebhookRecordSchema,
} from "../../gen/onering/v1/usage_pb.js";
import type { Logger } from "./logger.js";
import { retryTimeouts, type NatsConnection } from "./nats.js";

export const usageStreamName = (prefix: string) => `${prefix}_usage`;
export const requestSubject = (prefix: string) => `${prefix}.usage.requests`;
export const webhookSubject = (prefix: string) => `${prefix}.usage.webhooks`;

/** Creates the stream if it is missing; every publisher and the consumer call it. */
export async function ensureUsageStream(nc: NatsConnection, prefix: string, replicas: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const name = usageStreamName(prefix);
  const config = {
    name,
    subjects: [requestSubject(prefix), webhookSubject(prefix)],
    storage: StorageType.File,
    num_replicas: replicas,
    // MetricsService keeps the rollups; the stream only bridges its downtime.
    max_age: nanos(3 * 24 * 3600 * 1000),
  };
  await retryTimeouts(async () => {
    try {
      await jsm.streams.info(name);
    } catch {
      await jsm.streams.add(config);
    }
  });
}

interface RecordPublisherOptions {
  maxRecords?: number;
  flushIntervalMs?: number;
  /** Records kept while NATS is unreachable; beyond it the oldest are dropped and counted. */
  maxBuffered?: number;
}

class RecordPublisher<R> {
  /** Each record already encoded, so a flush only frames them and never stalls the loop encoding hundreds at once. */
  private buffer: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly js;
  private readonly recordSchema: DescMessage;
  private readonly recordsField: number;
  private readonly maxRecords: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;

  constructor(
    nc: NatsConnection,
    private readonly subject: string,
    batchSchema: DescMessage,
    private readonly dropped: Counter,
    private readonly logger: Logger,
    options: RecordPublisherOptions = {},
  ) {
    this.js = jetstream(nc);
    const records = batchSchema.field.records;
    if (records?.fieldKind !== "list" || records.listKind !== "message") throw new Error(`${batchSchema.typeName} has no repeated message field "records"`);
    this.recordSchema = records.message;
    this.recordsField = records.number;
    this.maxRecords = options.maxRecords ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.maxBuffered = options.maxBuffered ?? 100_000;
  }

  record(record: R): void {
    this.buffer.push(toBinary(this.recordSchema, create(this.recordSchema, record as MessageInitShape<DescMessage>)));
    if (this.buffer.length > this.maxBuffered) {
      this.buffer.shift();
      this.dropped.inc();
    }
    if (this.buffer.length >= this.maxRecords) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** Sends everything buffered; on failure the records stay for the next try. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing ??= this.send().finally(() => {
      this.flushing = undefined;
      if (this.buffer.length >= this.maxRecords) void this.flush();
      else if (this.buffer.length > 0) this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
    });
    return this.flushing;
  }

  /**
   * Sends what was buffered when the flush began. Records that arrive during a
   * publish wait for a full batch or the timer: sending them as soon as the
   * ack came back made a busy gateway publish a handful of records per ack
   * round trip, hundreds of messages a second.
   */
  private async send(): Promise<void> {
    let due = this.buffer.length;
    while (due > 0) {
      const records = this.buffer.slice(0, Math.min(due, this.maxRecords));
      try {
        await this.js.publish(this.subject, this.batch(records), { timeout: 2000 });
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, records: records.length }, "usage records not published yet");
        return;
      }
      this.buffer.splice(0, records.length);
      due -= records.length;
    }
  }

  /** The batch message's encoding: each record as one element of the repeated field. */
  private batch(records: Uint8Array[]): Uint8Array {
    const writer = new BinaryWriter();
    for (const record of records) writer.tag(this.recordsField, WireType.LengthDelimited).bytes(record);
    return writer.finish();
  }
}

/** Publishers for both record kinds, sharing one drop counter. */
export class UsagePublishers {
  readonly requests: RecordPublisher<MessageInitShape<typeof RequestRecordSchema>>;
  readonly webhooks: RecordPublisher<MessageInitShape<typeof WebhookRecordSchema>>;

  constructor(nc: NatsConnection, prefix: string, registry: Registry, logger: Logger, options?: RecordPublisherOptions) {
    const dropped = new Counter({
      name: "onering_usage_records_dropped_total",
      help: "Usage records dropped because NATS stayed unreachable while the buffer was full.",
      registers: [registry],
    });
    this.requests = new RecordPublisher(nc, requestSubject(prefix), RequestRecordBatchSchema, dropped, logger, options);
    this.webhooks = new RecordPublisher(nc, webhookSubject(prefix), WebhookRecordBatchSchema, dropped, logger, options);
  }

  async close(): Promise<void> {
    await Promise.all([this.requests.flush(), this.webhooks.flush()]);
  }
}

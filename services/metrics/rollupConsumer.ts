// Durable JetStream consumers that fold request and webhook records into the
// per-minute rollups. Each fetched batch is applied in one transaction together
// with the stream sequence it reached, so a crash or redelivery never counts a
// record twice and figures survive restarts.
import { fromBinary } from "@bufbuild/protobuf";
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { eq, sql } from "drizzle-orm";
import { RequestRecordBatchSchema, WebhookRecordBatchSchema } from "../../gen/onering/v1/usage_pb.js";
import type { Storage } from "../shared/database.js";
import type { Logger } from "../shared/logger.js";
import { retryTimeouts, type NatsConnection } from "../shared/nats.js";
import { ensureUsageStream, requestSubject, usageStreamName, webhookSubject } from "../shared/usageStream.js";
import { bucketOf } from "./latencyBuckets.js";
import * as schema from "./schema.js";

type Db = Storage<typeof schema>["db"];
type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

const minuteOf = (ms: number) => new Date(Math.floor(Number(ms) / 60_000) * 60_000);

/** Adds up one batch of request records and upserts the sums. */
async function applyRequests(tx: Tx, messages: JsMsg[]): Promise<void> {
  const sums = new Map<string, { minute: Date; keyId: string; tier: string; outcome: string; count: number }>();
  for (const m of messages) {
    for (const r of fromBinary(RequestRecordBatchSchema, m.data).records) {
      const minute = minuteOf(Number(r.timeMs));
      const id = `${minute.getTime()}|${r.keyId}|${r.tier}|${r.outcome}`;
      const row = sums.get(id) ?? { minute, keyId: r.keyId, tier: r.tier || "unknown", outcome: r.outcome, count: 0 };
      row.count += r.count || 1;
      sums.set(id, row);
    }
  }
  if (sums.size === 0) return;
  await tx
    .insert(schema.requestRollups)
    .values([...sums.values()])
    .onConflictDoUpdate({
      target: [schema.requestRollups.minute, schema.requestRollups.keyId, schema.requestRollups.tier, schema.requestRollups.outcome],
      set: { count: sql`${schema.requestRollups.count} + excluded.count` },
    });
}

/** Adds up one batch of webhook records (outcomes and latencies) and upserts the sums. */
async function applyWebhooks(tx: Tx, messages: JsMsg[]): Promise<void> {
  const outcomes = new Map<string, { minute: Date; outcome: string; count: number; attempts: number }>();
  const latencies = new Map<string, { minute: Date; bucket: number; count: number }>();
  for (const m of messages) {
    for (const r of fromBinary(WebhookRecordBatchSchema, m.data).records) {
      const minute = minuteOf(Number(r.timeMs));
      const id = `${minute.getTime()}|${r.outcome}`;
      const row = outcomes.get(id) ?? { minute, outcome: r.outcome, count: 0, attempts: 0 };
      row.count++;
      row.attempts += r.attempts;
      outcomes.set(id, row);
      if (r.outcome === "delivered") {
        const bucket = bucketOf(Number(r.latencyMs));
        const lid = `${minute.getTime()}|${bucket}`;
        const lrow = latencies.get(lid) ?? { minute, bucket, count: 0 };
        lrow.count++;
        latencies.set(lid, lrow);
      }
    }
  }
  if (outcomes.size > 0) {
    await tx
      .insert(schema.webhookRollups)
      .values([...outcomes.values()])
      .onConflictDoUpdate({
        target: [schema.webhookRollups.minute, schema.webhookRollups.outcome],
        set: {
          count: sql`${schema.webhookRollups.count} + excluded.count`,
          attempts: sql`${schema.webhookRollups.attempts} + excluded.attempts`,
        },
      });
  }
  if (latencies.size > 0) {
    await tx
      .insert(schema.latencyRollups)
      .values([...latencies.values()])
      .onConflictDoUpdate({
        target: [schema.latencyRollups.minute, schema.latencyRollups.bucket],
        set: { count: sql`${schema.latencyRollups.count} + excluded.count` },
      });
  }
}

export class RollupConsumer {
  private running = true;
  private readonly loops: Promise<void>[] = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  static async start(nc: NatsConnection, prefix: string, replicas: number, db: Db, logger: Logger): Promise<RollupConsumer> {
    await ensureUsageStream(nc, prefix, replicas);
    const consumer = new RollupConsumer(nc, prefix, db, logger);
    consumer.loops.push(
      consumer.run(`${prefix}_metrics_requests`, requestSubject(prefix), applyRequests),
      consumer.run(`${prefix}_metrics_webhooks`, webhookSubject(prefix), applyWebhooks),
    );
    return consumer;
  }

  private async run(durable: string, subject: string, apply: (tx: Tx, messages: JsMsg[]) => Promise<void>): Promise<void> {
    const stream = usageStreamName(this.prefix);
    const jsm = await jetstreamManager(this.nc);
    await retryTimeouts(() => jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: subject, max_ack_pending: 10_000 }));
    const consumer = await jetstream(this.nc).consumers.get(stream, durable);
    while (this.running) {
      try {
        const batch = await consumer.fetch({ max_messages: 200, expires: 1000 });
        const messages: JsMsg[] = [];
        for await (const m of batch) messages.push(m);
        if (messages.length === 0) continue;
        await this.db.transaction(async (tx) => {
          const [offset] = await tx.select().from(schema.consumerOffsets).where(eq(schema.consumerOffsets.consumer, durable)).for("update");
          const last = offset?.lastSequence ?? 0;
          const fresh = messages.filter((m) => m.seq > last);
          if (fresh.length === 0) return;
          await apply(tx, fresh);
          const reached = Math.max(...fresh.map((m) => m.seq));
          await tx
            .insert(schema.consumerOffsets)
            .values({ consumer: durable, lastSequence: reached })
            .onConflictDoUpdate({ target: schema.consumerOffsets.consumer, set: { lastSequence: reached } });
        });
        for (const m of messages) m.ack();
      } catch (err) {
        if (!this.running) return;
        this.logger.warn({ err: (err as Error).message, durable }, "rollup batch failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
  }
}

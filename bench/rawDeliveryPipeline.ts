// The webhook section's floor: JetStream publish, a durable pull consumer and
// an undici POST to the same receiver, acknowledged after the answer — the
// delivery path with nothing else (no database, no claim, no record, no signature).
import { AckPolicy, jetstream, jetstreamManager, StorageType, type ConsumerMessages } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Agent, request } from "undici";

export interface RawPipeline {
  publish(body: string): Promise<void>;
  close(): Promise<void>;
}

// As many receiver connections and unacknowledged jobs as the bench allows the mesh's worker.
export async function startRawPipeline(natsUrl: string, prefix: string, receiverUrl: string, connections: number): Promise<RawPipeline> {
  const nc: NatsConnection = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `${prefix}_bench_raw`;
  const subject = `${prefix}.bench.raw`;
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: `${prefix}_bench_raw`, ack_policy: AckPolicy.Explicit, max_ack_pending: 2000 });
  const js = jetstream(nc);
  const agent = new Agent({ connections });
  const messages: ConsumerMessages = await (await js.consumers.get(stream, `${prefix}_bench_raw`)).consume({ max_messages: 256 });
  const consuming = (async () => {
    for await (const msg of messages) {
      void request(receiverUrl, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json", "webhook-id": `raw_${msg.seq}` },
        body: msg.data,
      }).then(
        async (res) => {
          await res.body.dump();
          msg.ack();
        },
        () => msg.nak(),
      );
    }
  })();
  return {
    publish: async (body) => void (await js.publish(subject, body)),
    close: async () => {
      await messages.close();
      await consuming;
      await agent.close();
      await nc.close();
    },
  };
}

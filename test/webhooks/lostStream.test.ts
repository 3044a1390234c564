// Postgres is the source of truth: if JetStream loses queued jobs (an ack is
// not an fsync), the reconciler re-enqueues the deliveries and they still arrive.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deliveryStreamName } from "../../services/webhook/deliveryJobs.js";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { eventually, startReceiver, type Receiver } from "./receiver.js";
import { asOwner, meshFlags, webhookClient } from "./webhookClient.js";

let mesh: Mesh;
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  mesh = await startMesh({
    only: ["webhook", "webhook-worker"],
    env: { ONERING_WEBHOOKS_RECONCILE_AFTER_SECONDS: "2", ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5" },
  });
});
afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
});

it("delivers every event whose queued job the stream lost", async () => {
  const client = webhookClient(mesh);
  const { flags, close } = await meshFlags(mesh);
  try {
    // Hold the worker back so the jobs sit in the stream, then lose them.
    await flags.set("webhooks_delivery_enabled", false, "test");
    await client.createWebhook({ url: `${receiver.url}/lost`, eventTypes: ["lost.*"] }, asOwner("key_lost"));
    const published = [];
    for (let i = 0; i < 5; i++) published.push(await client.publishEvent({ type: "lost.job", data: { i } }));
    await eventually(async () => (await client.getDeliveryStats({})).outboxBacklog === 0n, "jobs relayed to JetStream");

    const nc = await connect({ servers: mesh.natsUrl });
    const jsm = await jetstreamManager(nc);
    const purged = await jsm.streams.purge(deliveryStreamName({ natsPrefix: mesh.natsPrefix }));
    await nc.close();
    expect(purged.purged).toBe(5);

    await flags.set("webhooks_delivery_enabled", true, "test");
    const arrived = await eventually(() => {
      const ids = new Set(receiver.on("/lost").map((r) => JSON.parse(r.body).id as string));
      return ids.size === 5 && ids;
    }, "every event delivered after the reconciler re-enqueued it", 30_000);
    for (const p of published) expect(arrived.has(p.event!.id)).toBe(true);
    expect(mesh.processes.get("webhook")!.logs.join("\n")).toContain("re-enqueued stale deliveries");
  } finally {
    await close();
  }
});

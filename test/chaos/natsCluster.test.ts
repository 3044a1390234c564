// The mesh on a three-node NATS cluster with every stream and the flags bucket
// at 3 replicas: the server leading the delivery stream is killed with SIGKILL
// in the middle of 2,000 deliveries and started again. Every event arrives
// (the receiver dedupes), and a flag flip still reaches every process live.
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { startNatsCluster, type NatsCluster } from "../harness/natsCluster.js";
import { eventually } from "../webhooks/receiver.js";
import { asOwner, meshFlags, webhookClient } from "../webhooks/webhookClient.js";
import { startDedupingReceiver, type DedupingReceiver } from "./dedupingReceiver.js";
import { pool } from "./rest.js";

let cluster: NatsCluster;
let mesh: Mesh;
let receiver: DedupingReceiver;
let nc: NatsConnection;
let jsm: JetStreamManager;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  cleanups.push(() => cluster.stop());
  receiver = await startDedupingReceiver();
  cleanups.push(() => receiver.close());
  mesh = await startMesh({
    only: ["webhook", "webhook-worker"],
    natsUrl: cluster.url,
    env: {
      ONERING_NATS_REPLICAS: "3",
      ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.3,1",
      ONERING_WEBHOOKS_MAX_ATTEMPTS: "20",
      // Long enough that no attempt times out on a loaded machine.
      ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "5",
      ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
      // The lost-stream reconciler stays at its default (300 s, past this test): a job
      // JetStream dropped would not be re-enqueued in time, so the replicas alone must keep it.
    },
  });
  cleanups.push(() => mesh.stop());
  nc = await connect({ servers: cluster.url.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  cleanups.push(() => nc.close());
  jsm = await jetstreamManager(nc);
}, 150_000);

const deliveryStream = () => `${mesh.natsPrefix}_webhook_deliveries`;
const streams = () => [deliveryStream(), `${mesh.natsPrefix}_usage`, `KV_${mesh.natsPrefix}_flags`];

/** Both followers of a stream replicate it and are up to date; false while an election or catch-up is under way. */
async function replicated(stream: string): Promise<boolean> {
  const info = await jsm.streams.info(stream).catch(() => undefined);
  const followers = info?.cluster?.replicas ?? [];
  return info?.cluster?.leader !== undefined && followers.length === 2 && followers.every((r) => r.current && !r.offline);
}

it("creates every stream, the worker consumer and the flags bucket with 3 replicas", async () => {
  for (const stream of streams()) expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
  const consumer = await jsm.consumers.info(deliveryStream(), `${mesh.natsPrefix}_webhook_worker`);
  expect(consumer.cluster?.replicas).toHaveLength(2);
});

it("the delivery stream's leader killed with SIGKILL during 2,000 deliveries and restarted: every event arrives, flags still flip live", async () => {
  const client = webhookClient(mesh);
  const owner = asOwner("key_cluster");
  // Its leader is the server whose loss costs the most: an election before any job is stored or acknowledged again.
  const leader = (await jsm.streams.info(deliveryStream())).cluster?.leader;
  const victim = cluster.servers.find((s) => s.name === leader)!;
  // The other processes pick a server from NATS_URL at random; this second worker is
  // surely on the victim, knowing the others only from what the cluster announces (as
  // the prod overlay's single Service URL does), so at least one client must fail over.
  const pinned = await mesh.startReplica("webhook-worker", { NATS_URL: victim.url });
  // 20 webhooks × 100 events: 2,000 deliveries for few publish calls.
  const paths = Array.from({ length: 20 }, (_, i) => `/s${i}`);
  for (const p of paths) await client.createWebhook({ url: `${receiver.url}${p}`, eventTypes: ["cluster.kill"] }, owner);
  await client.createWebhook({ url: `${receiver.url}/down`, eventTypes: ["cluster.down"] }, owner);
  const events = 100;
  const total = events * paths.length;
  const delivered = () => paths.reduce((n, p) => n + receiver.idsOn(p).size, 0);
  const published: string[] = [];
  const publishing = pool(events, 4, async (i) => {
    const reply = await client.publishEvent({ type: "cluster.kill", data: { i } });
    expect(reply.deliveryCount).toBe(paths.length);
    published.push(reply.event!.id);
  });

  const processLogs = new Map([
    ["webhook", mesh.processes.get("webhook")!.logs],
    ["webhook-worker", mesh.processes.get("webhook-worker")!.logs],
    ["pinned worker", pinned.logs],
  ]);
  const mark = () => new Map([...processLogs].map(([name, lines]) => [name, lines.length]));
  const loggedSince = (at: Map<string, number>, name: string, ...texts: string[]) =>
    processLogs.get(name)!.slice(at.get(name)).some((line) => texts.every((t) => line.includes(t)));

  await eventually(() => delivered() >= 300, "deliveries under way", 30_000);
  const atKillMark = mark();
  const killedAt = Date.now();
  await cluster.kill(victim.name);
  const atKill = delivered();
  expect(atKill).toBeLessThan(total);
  // The two servers left are a quorum: an event published now is stored, fetched and
  // delivered (behind the backlog) while the third is down.
  const down = await client.publishEvent({ type: "cluster.down", data: {} });
  await eventually(() => receiver.eventIdsOn("/down").has(down.event!.id), "an event published with one server down", 30_000);
  const downMs = Date.now() - killedAt;
  await eventually(() => loggedSince(atKillMark, "pinned worker", "nats reconnect"), "the pinned worker reconnected to another server", 15_000);
  const failedOver = [...processLogs.keys()].filter((name) => loggedSince(atKillMark, name, "nats disconnect"));

  await cluster.restart(victim.name);
  const restartedAt = Date.now();
  await eventually(async () => (await Promise.all(streams().map(replicated))).every(Boolean), `${victim.name} caught up on every stream`, 30_000);
  const caughtUpMs = Date.now() - restartedAt;
  await publishing;
  await eventually(() => delivered() === total, `all ${total} deliveries (have ${delivered()})`, 60_000);
  for (const p of paths) expect([...receiver.eventIdsOn(p)].sort()).toEqual([...published].sort());

  // With every server back, a kill switch still reaches every process live.
  const { flags, close } = await meshFlags(mesh);
  try {
    await client.createWebhook({ url: `${receiver.url}/flag`, eventTypes: ["cluster.flag"] }, owner);
    const flipMark = mark();
    const flippedAt = Date.now();
    await flags.set("webhooks_delivery_enabled", false, "chaos-test");
    await eventually(
      () => [...processLogs.keys()].every((name) => loggedSince(flipMark, name, "runtime flag changed", "webhooks_delivery_enabled")),
      "every process seeing the flag off",
      10_000,
    );
    const flipMs = Date.now() - flippedAt;
    for (let i = 0; i < 5; i++) await client.publishEvent({ type: "cluster.flag", data: { i } });
    await eventually(async () => (await client.getDeliveryStats({})).outboxBacklog === 0n, "outbox relayed", 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.idsOn("/flag").size).toBe(0);
    await flags.set("webhooks_delivery_enabled", true, "chaos-test");
    await eventually(() => receiver.idsOn("/flag").size === 5, "deliveries once the flag is back on", 15_000);
    console.log(
      `killed ${victim.name} (delivery stream leader) at ${atKill}/${total} delivered; failed over: ${failedOver.join(", ") || "none"}; ` +
        `event published after the kill delivered in ${downMs} ms; caught up ${caughtUpMs} ms after restart; ` +
        `duplicates ${receiver.duplicates}; flag flip seen in ${flipMs} ms`,
    );
  } finally {
    await flags.set("webhooks_delivery_enabled", true, "chaos-test");
    await close();
  }
}, 100_000);

// Faults of the platform itself: a worker killed with SIGKILL mid-batch, and
// NATS down while events are published. Every delivery still arrives.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { startNatsServer } from "../../tools/mesh/natsServer.js";
import { freePort, startMesh, type Mesh } from "../harness/mesh.js";
import { eventually, startReceiver, type Receiver } from "./receiver.js";
import { asOwner, webhookClient } from "./webhookClient.js";

const env = {
  ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.2,0.4",
  ONERING_WEBHOOKS_MAX_ATTEMPTS: "5",
  ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "1",
  ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(natsUrl?: string, extraEnv: Record<string, string> = {}): Promise<{ mesh: Mesh; receiver: Receiver }> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const mesh = await startMesh({ only: ["webhook", "webhook-worker"], env: { ...env, ...extraEnv }, natsUrl });
  cleanups.push(() => mesh.stop());
  return { mesh, receiver };
}

const distinctIds = (receiver: Receiver, p: string) => new Set(receiver.on(p).map((r) => r.headers["webhook-id"]));

it("a worker killed with SIGKILL mid-batch loses nothing: every delivery arrives at least once", async () => {
  // Two at a time, 300 ms each: the 40 take seconds, so the kill lands mid-batch however fast the rest is.
  const { mesh, receiver } = await setup(undefined, { ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY: "2" });
  const client = webhookClient(mesh);
  const { webhook } = await client.createWebhook({ url: `${receiver.url}/slow`, eventTypes: ["batch.item"] }, asOwner("key_kill"));
  receiver.script("/slow", () => ({ status: 200, delayMs: 300 }));
  const total = 40;
  for (let i = 0; i < total; i++) await client.publishEvent({ type: "batch.item", data: { i } });

  await eventually(() => receiver.on("/slow").length >= 5, "the batch under way");
  await mesh.stopProcess("webhook-worker", "SIGKILL");
  const atKill = distinctIds(receiver, "/slow").size;
  expect(atKill).toBeLessThan(total);
  await mesh.startProcess("webhook-worker");

  await eventually(() => distinctIds(receiver, "/slow").size === total, `all ${total} deliveries`, 45_000);
  const delivered = await eventually(async () => {
    const { deliveries } = await client.listDeliveries({ webhookId: webhook!.id, status: "delivered", pageSize: 200 }, asOwner("key_kill"));
    return deliveries.length === total && deliveries;
  }, "every delivery marked delivered", 30_000);
  expect(new Set(delivered.map((d) => d.id))).toEqual(distinctIds(receiver, "/slow"));
}, 120_000);

it("events published while NATS is down are all delivered once it is back", async () => {
  const port = await freePort();
  const storeDir = mkdtempSync(path.join(os.tmpdir(), "onering-nats-"));
  cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }));
  let nats: ChildProcess = await startNatsServer(port, storeDir);
  cleanups.push(() => void nats.kill("SIGKILL"));
  const { mesh, receiver } = await setup(`nats://127.0.0.1:${port}`);
  const client = webhookClient(mesh);
  await client.createWebhook({ url: `${receiver.url}/outage`, eventTypes: ["outage.*"] }, asOwner("key_nats"));
  await client.publishEvent({ type: "outage.before", data: {} });
  await eventually(() => receiver.on("/outage").length === 1, "delivery before the outage");

  const exited = new Promise((r) => nats.once("exit", r));
  nats.kill("SIGTERM");
  await exited;
  const published = [];
  for (let i = 0; i < 10; i++) published.push(await client.publishEvent({ type: "outage.during", data: { i } }));
  expect(published.every((p) => p.deliveryCount === 1)).toBe(true);
  expect((await client.getDeliveryStats({})).outboxBacklog).toBeGreaterThan(0n);

  nats = await startNatsServer(port, storeDir);
  await eventually(() => new Set(receiver.on("/outage").map((r) => JSON.parse(r.body).id)).size === 11, "all events after NATS returns", 45_000);
  const eventIds = new Set(receiver.on("/outage").map((r) => JSON.parse(r.body).id as string));
  for (const p of published) expect(eventIds.has(p.event!.id)).toBe(true);
  await eventually(async () => (await client.getDeliveryStats({})).outboxBacklog === 0n, "outbox drained");
}, 120_000);

// Faults on the delivery path, driven through the gateway's REST API: the
// worker killed with SIGKILL in the middle of 2,000 deliveries, a receiver
// that is down for longer than the first backoff, and the scheduler (the
// WebhookService, which publishes due retries) killed while retries are due.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { eventually } from "../webhooks/receiver.js";
import { consumerInfo } from "../webhooks/webhookClient.js";
import { startDedupingReceiver, type DedupingReceiver } from "./dedupingReceiver.js";
import { createKey, createWebhook, pool, publishEvent, rest } from "./rest.js";

// Attempts a worker runs at once per webhook.
const endpointConcurrency = 2;

let mesh: Mesh;
let key: string;
const receivers: DedupingReceiver[] = [];
beforeAll(async () => {
  mesh = await startMesh({
    env: {
      ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.3,1",
      ONERING_WEBHOOKS_MAX_ATTEMPTS: "20",
      // Long enough that no attempt times out on a loaded machine: the only duplicates are the kill's.
      ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "5",
      ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
      ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY: String(endpointConcurrency),
      // A receiver that is down opens its circuit; a short cool-down lets the probe find it back within the test.
      ONERING_WEBHOOKS_CIRCUIT_COOLDOWN_SECONDS: "1",
    },
  });
  key = (await createKey(mesh.gatewayUrl, mesh.adminKey, { name: "chaos-deliveries", tier: "enterprise" })).secret;
}, 300_000);
afterAll(async () => {
  for (const r of receivers) await r.close();
  await mesh?.stop();
});

async function receiver(): Promise<DedupingReceiver> {
  const r = await startDedupingReceiver();
  receivers.push(r);
  return r;
}

/** Pages through a webhook's deliveries in one status and counts them. */
async function countDeliveries(webhookId: string, status: string): Promise<number> {
  let count = 0;
  let token = "";
  do {
    const reply = await rest(mesh.gatewayUrl, "GET", `/v1/external/webhooks/${webhookId}/deliveries?status=${status}&page_size=200&page_token=${token}`, { key });
    expect(reply.status).toBe(200);
    count += ((reply.body.deliveries as unknown[] | undefined) ?? []).length;
    token = (reply.body.next_page_token as string | undefined) ?? "";
  } while (token !== "");
  return count;
}

it("kill -9 of the worker during 2,000 deliveries: all arrive, duplicates only for the in-flight ones", async () => {
  const r = await receiver();
  // 20 webhooks × 100 events: 2,000 deliveries for few publish calls.
  const paths = Array.from({ length: 20 }, (_, i) => `/s${i}`);
  const hooks = await Promise.all(paths.map((p) => createWebhook(mesh.gatewayUrl, key, `${r.url}${p}`, ["chaos.kill"])));
  const events = 100;
  const published: string[] = [];
  const publishing = pool(events, 8, async (i) => {
    const reply = await publishEvent(mesh.gatewayUrl, mesh.adminKey, "chaos.kill", { i });
    expect([reply.status, reply.body.delivery_count]).toEqual([200, paths.length]);
    published.push(reply.body.event.id as string);
  });

  await eventually(() => r.distinct >= 300, "deliveries under way", 60_000);
  await mesh.stopProcess("webhook-worker", "SIGKILL");
  const atKill = r.distinct;
  // The jobs the dead worker held unacknowledged: a job is acknowledged only once its attempt is recorded.
  const unacknowledged = (await consumerInfo(mesh)).num_ack_pending;
  await publishing;
  const total = events * paths.length;
  expect(atKill).toBeLessThan(total);
  await mesh.startProcess("webhook-worker");

  await eventually(() => r.distinct === total, `all ${total} deliveries (have ${r.distinct})`, 90_000);
  for (const p of paths) expect([...r.eventIdsOn(p)].sort()).toEqual([...published].sort());
  // Only what the killed worker had sent but not yet recorded comes twice: at most its unacknowledged jobs.
  console.log(`worker killed with ${atKill} of ${total} delivered; duplicates ${r.duplicates} (bound: ${unacknowledged} jobs unacknowledged at the kill)`);
  expect(r.duplicates).toBeLessThanOrEqual(unacknowledged);
  for (const hook of hooks) await eventually(async () => (await countDeliveries(hook, "delivered")) === events, `${hook}: all delivered`, 30_000);
}, 180_000);

it("a receiver down for longer than the first backoff gets the delivery from a later attempt", async () => {
  const r = await receiver();
  await r.close();
  const hook = await createWebhook(mesh.gatewayUrl, key, `${r.url}/down`, ["chaos.down"]);
  const published = await publishEvent(mesh.gatewayUrl, mesh.adminKey, "chaos.down", { n: 1 });
  expect(published.status).toBe(200);

  const deliveryOf = async () => {
    const reply = await rest(mesh.gatewayUrl, "GET", `/v1/external/webhooks/${hook}/deliveries`, { key });
    return (reply.body.deliveries as Record<string, any>[] | undefined)?.[0];
  };
  // Two failed attempts: the outage outlasted the first backoff.
  await eventually(async () => ((await deliveryOf())?.attempt_count ?? 0) >= 2, "two failed attempts", 30_000);
  expect(r.receipts).toBe(0);
  await r.reopen();

  const delivered = await eventually(async () => {
    const d = await deliveryOf();
    return d?.status === "delivered" && d;
  }, "delivered after the receiver returns", 30_000);
  const attempts = delivered.attempts as Record<string, any>[];
  expect(attempts.length).toBeGreaterThanOrEqual(3);
  expect(attempts.slice(0, -1).every((a) => a.error && !a.status_code)).toBe(true);
  expect(attempts.at(-1)).toMatchObject({ number: attempts.length, status_code: 204 });
  expect([r.receipts, [...r.eventIdsOn("/down")]]).toEqual([1, [published.body.event.id]]);
}, 90_000);

it("retries due while the scheduler is killed wait in Postgres, not in JetStream, and go out once it is back", async () => {
  const r = await receiver();
  await r.close();
  const hook = await createWebhook(mesh.gatewayUrl, key, `${r.url}/later`, ["chaos.scheduler"]);
  const events = 20;
  const published = await Promise.all(Array.from({ length: events }, (_, n) => publishEvent(mesh.gatewayUrl, mesh.adminKey, "chaos.scheduler", { n })));
  for (const reply of published) expect(reply.status).toBe(200);
  // Every delivery failed once and waits for its retry: in Postgres, holding no JetStream slot.
  await eventually(async () => (await countDeliveries(hook, "retrying")) === events, "every delivery waiting for a retry", 30_000);
  await eventually(async () => {
    const info = await consumerInfo(mesh);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, "no job in JetStream for the waiting retries");

  await mesh.stopProcess("webhook", "SIGKILL");
  await r.reopen();
  // Past every backoff: the retries are due, with nobody to publish them.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await mesh.startProcess("webhook");

  await eventually(() => r.distinct === events, `all ${events} retries delivered (have ${r.distinct})`, 60_000);
  expect([...r.eventIdsOn("/later")].sort()).toEqual(published.map((p) => p.body.event.id as string).sort());
  await eventually(async () => (await countDeliveries(hook, "delivered")) === events, "every delivery recorded delivered", 30_000);
}, 120_000);

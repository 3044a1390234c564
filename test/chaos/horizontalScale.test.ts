// Two gateways (each on its own KeyService replica), two KeyServices and two
// workers against one Postgres and NATS: limits exact across the gateways,
// each delivery sent once, and both workers share the work. Deliveries/s with
// one worker and with two are printed, not asserted (speed belongs to bench/).
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh, type Replica } from "../harness/mesh.js";
import { eventually } from "../webhooks/receiver.js";
import { startDedupingReceiver, type DedupingReceiver } from "./dedupingReceiver.js";
import { counterSum, createKey, createWebhook, expectContractError, pool, publishEvent, rest } from "./rest.js";

let mesh: Mesh;
let gateways: string[];
let receiver: DedupingReceiver;
beforeAll(async () => {
  receiver = await startDedupingReceiver({ delayMs: 20 });
  mesh = await startMesh({ env: { ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "10" } });
  const key2: Replica = await mesh.startReplica("key");
  const gateway2 = await mesh.startReplica("gateway", { ONERING_KEY_SERVICE_URL: key2.url });
  gateways = [mesh.gatewayUrl, gateway2.url];
}, 300_000);
afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
});

it("admits exactly the limit per key across two gateways on two KeyServices", async () => {
  const keys = await Promise.all([0, 1, 2].map((i) => createKey(mesh.gatewayUrl, mesh.adminKey, { name: `scale-${i}` })));
  const statuses = keys.map(() => [] as number[]);
  await pool(keys.length * 150, 24, async (i) => {
    const k = i % keys.length;
    const reply = await rest(gateways[Math.floor(i / keys.length) % 2]!, "GET", "/v1/external/me", { key: keys[k]!.secret });
    if (reply.status !== 200) expect(expectContractError(reply)).toBe("RATE_LIMITED");
    statuses[k]!.push(reply.status);
  });
  for (const s of statuses) expect([s.filter((x) => x === 200).length, s.filter((x) => x === 429).length]).toEqual([100, 50]);
});

/** Publishes `events` events while delivery is off, then times the drain once it is on. */
async function drain(type: string, events: number, hooks: number): Promise<number> {
  const setDelivery = async (enabled: boolean) => {
    const reply = await rest(gateways[1]!, "PUT", "/v1/admin/flags/webhooks_delivery_enabled", { key: mesh.adminKey, body: { enabled } });
    expect(reply.status).toBe(200);
  };
  await setDelivery(false);
  await pool(events, 4, async (i) => {
    const reply = await publishEvent(gateways[i % 2]!, mesh.adminKey, type, { i });
    expect([reply.status, reply.body.delivery_count]).toEqual([200, hooks]);
  });
  const before = receiver.distinct;
  const started = performance.now();
  await setDelivery(true);
  await eventually(() => receiver.distinct === before + events * hooks, `${type}: ${events * hooks} deliveries`, 120_000);
  return (events * hooks) / ((performance.now() - started) / 1000);
}

it("two workers each send a share of the deliveries, each exactly once", async () => {
  const { secret } = await createKey(mesh.gatewayUrl, mesh.adminKey, { name: "scale-hooks", tier: "enterprise" });
  const hooks = 10;
  const events = 50;
  for (let h = 0; h < hooks; h++) await createWebhook(gateways[h % 2]!, secret, `${receiver.url}/h${h}`, ["scale.*"]);

  const oneWorker = await drain("scale.one", events, hooks);
  const worker2 = await mesh.startReplica("webhook-worker");
  const worker1Before = await counterSum(mesh.url("webhook-worker"), "onering_webhook_attempts_total");
  const twoWorkers = await drain("scale.two", events, hooks);
  console.log(`deliveries/s, same workload (${events * hooks} deliveries, receiver answering in 20 ms): 1 worker ${oneWorker.toFixed(0)}, 2 workers ${twoWorkers.toFixed(0)}`);

  const attemptsBy = async () => [(await counterSum(mesh.url("webhook-worker"), "onering_webhook_attempts_total")) - worker1Before, await counterSum(worker2.url, "onering_webhook_attempts_total")];
  // A worker counts an attempt once the receiver has answered, just after the receiver saw it.
  const byWorker = await eventually(async () => {
    const counts = await attemptsBy();
    return counts[0]! + counts[1]! >= events * hooks && counts;
  }, "both workers' attempts counted", 10_000);
  expect(byWorker.every((n) => n > 0)).toBe(true);
  // Nothing failed, so each webhook-id arrived exactly once, from one worker's one attempt.
  expect(byWorker[0]! + byWorker[1]!).toBe(events * hooks);
  expect([receiver.duplicates, receiver.distinct]).toEqual([0, 2 * events * hooks]);
}, 300_000);

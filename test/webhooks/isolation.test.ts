// One bad endpoint must never stall the others. A receiver that never answers
// and one that always fails each get three times the workers' whole in-flight
// capacity (the consumer's max_ack_pending) of deliveries; a healthy endpoint
// published to afterwards still gets every event, and the bad endpoints'
// circuits open, so their deliveries wait burning no attempts.
// Real processes, Postgres and JetStream; before the delivery engine kept due
// times in Postgres the healthy endpoint got 0 of 20 within 30 s.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Mesh } from "../harness/mesh.js";
import { eventually, type Receiver } from "./receiver.js";
import { asOwner, consumerInfo, webhookClient } from "./webhookClient.js";
import { startWebhookMesh, stopWebhookMesh } from "./webhookMesh.js";

const maxInFlight = 150;
const noisyDeliveries = 3 * maxInFlight;
const circuitFailures = 5;

let mesh: Mesh;
let receiver: Receiver;
let client: ReturnType<typeof webhookClient>;

beforeAll(async () => {
  ({ mesh, receiver, client } = await startWebhookMesh({
    ONERING_WEBHOOKS_WORKER_MAX_IN_FLIGHT: String(maxInFlight),
    ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY: "4",
    ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "2",
    ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.5",
    ONERING_WEBHOOKS_MAX_ATTEMPTS: "50",
    ONERING_WEBHOOKS_CIRCUIT_FAILURES: String(circuitFailures),
    // Longer than the test: once open, the bad endpoints stay paused.
    ONERING_WEBHOOKS_CIRCUIT_COOLDOWN_SECONDS: "600",
    ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
  }));
});
afterAll(() => stopWebhookMesh({ mesh, receiver }));

async function publishMany(type: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => client.publishEvent({ type, data: { n: i + j } })));
  }
}

it("a hanging and a failing endpoint with 3x the in-flight capacity queued do not delay a healthy one; their circuits open", async () => {
  receiver.script("/hang", () => "hang");
  receiver.script("/fail", () => ({ status: 500, body: "down" }));
  const hanging = (await client.createWebhook({ url: `${receiver.url}/hang`, eventTypes: ["noisy.hang"] }, asOwner("key_noisy"))).webhook!;
  const failing = (await client.createWebhook({ url: `${receiver.url}/fail`, eventTypes: ["noisy.fail"] }, asOwner("key_noisy"))).webhook!;
  await client.createWebhook({ url: `${receiver.url}/healthy`, eventTypes: ["quiet.ping"] }, asOwner("key_quiet"));

  await publishMany("noisy.hang", noisyDeliveries);
  await publishMany("noisy.fail", noisyDeliveries);
  await publishMany("quiet.ping", 20);
  const healthyIds = () => new Set(receiver.on("/healthy").map((r) => r.headers["webhook-id"]));
  await eventually(() => healthyIds().size >= 20, "all 20 healthy deliveries while the noisy backlog waits", 20_000);
  // Each at the first attempt: none waited behind the bad endpoints (they share its host) until it timed out.
  const quiet = (await client.listWebhooks({}, asOwner("key_quiet"))).webhooks[0]!;
  const healthy = await eventually(async () => {
    const { deliveries } = await client.listDeliveries({ webhookId: quiet.id, pageSize: 50 }, asOwner("key_quiet"));
    return deliveries.every((d) => d.status === "delivered") && deliveries;
  }, "the healthy deliveries recorded");
  expect(healthy.map((d) => [d.status, d.attempts.length])).toEqual(Array(20).fill(["delivered", 1]));
  expect(receiver.on("/healthy")).toHaveLength(20);

  // Both bad endpoints' circuits open, visible in their delivery logs and the delivery stats.
  for (const [webhook, owner] of [
    [hanging, "key_noisy"],
    [failing, "key_noisy"],
  ] as const) {
    const circuit = await eventually(async () => {
      const { circuit } = await client.listDeliveries({ webhookId: webhook.id, pageSize: 1 }, asOwner(owner));
      return circuit?.state === "open" && circuit;
    }, `${webhook.url}'s circuit to open`);
    expect(circuit.consecutiveFailures).toBeGreaterThanOrEqual(circuitFailures);
  }
  expect((await client.getDeliveryStats({})).openCircuits).toBe(2n);

  // Open, they burn no attempts: nothing more reaches them, and no job waits in JetStream for them.
  await eventually(async () => {
    const info = await consumerInfo(mesh);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, "the stream to hold no job of the paused endpoints");
  const failedSoFar = receiver.on("/fail").length;
  const hungSoFar = receiver.on("/hang").length;
  await new Promise((r) => setTimeout(r, 1500));
  expect(receiver.on("/fail").length).toBe(failedSoFar);
  expect(receiver.on("/hang").length).toBe(hungSoFar);
  // New events for an open circuit wait in Postgres for its probe: none enters JetStream to be parked again.
  const streamSeqBefore = (await consumerInfo(mesh)).delivered.stream_seq;
  await publishMany("noisy.fail", 50);
  await new Promise((r) => setTimeout(r, 1000));
  const after = await consumerInfo(mesh);
  expect([after.delivered.stream_seq, after.num_pending]).toEqual([streamSeqBefore, 0]);
  // Each endpoint's in-flight cap held, however deep its backlog.
  expect(receiver.maxConcurrent("/hang")).toBeLessThanOrEqual(4);
  const { deliveries } = await client.listDeliveries({ webhookId: failing.id, status: "retrying", pageSize: 200 }, asOwner("key_noisy"));
  expect(deliveries.length + (await client.listDeliveries({ webhookId: failing.id, status: "pending", pageSize: 200 }, asOwner("key_noisy"))).deliveries.length).toBeGreaterThan(0);
});

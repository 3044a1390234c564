// Endpoint health rules: the per-endpoint concurrency cap (a slow receiver
// cannot starve the others) and auto-disable after failing with no success
// for the configured period, which tells the owner's other endpoints.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Mesh } from "../harness/mesh.js";
import { eventually, type Receiver } from "./receiver.js";
import { asOwner, webhookClient } from "./webhookClient.js";
import { startWebhookMesh, stopWebhookMesh } from "./webhookMesh.js";

let mesh: Mesh;
let receiver: Receiver;
let client: ReturnType<typeof webhookClient>;

beforeAll(async () => {
  ({ mesh, receiver, client } = await startWebhookMesh({
    ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY: "2",
    ONERING_WEBHOOKS_AUTO_DISABLE_SECONDS: "1",
    ONERING_WEBHOOKS_MAX_ATTEMPTS: "20",
    ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.3",
    ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "2",
  }));
});
afterAll(() => stopWebhookMesh({ mesh, receiver }));

it("caps concurrent attempts per endpoint, and a slow endpoint does not hold up a fast one", async () => {
  await client.createWebhook({ url: `${receiver.url}/slow`, eventTypes: ["load.slow"] }, asOwner("key_cap"));
  await client.createWebhook({ url: `${receiver.url}/fast`, eventTypes: ["load.fast"] }, asOwner("key_cap"));
  receiver.script("/slow", () => ({ status: 200, delayMs: 500 }));
  for (let i = 0; i < 12; i++) await client.publishEvent({ type: "load.slow", data: { i } });
  await client.publishEvent({ type: "load.fast", data: {} });
  await eventually(() => receiver.on("/fast").length === 1, "the fast endpoint's delivery");
  // Twelve slow deliveries two at a time cannot all be done yet when the fast one lands.
  expect(receiver.on("/slow").length).toBeLessThan(12);
  await eventually(() => receiver.on("/slow").length === 12, "every slow delivery");
  expect(receiver.maxConcurrent("/slow")).toBe(2);
});

it("disables an endpoint failing with no success for the auto-disable period and tells the owner's other endpoints", async () => {
  const failing = await client.createWebhook({ url: `${receiver.url}/failing`, eventTypes: ["health.check"] }, asOwner("key_auto"));
  await client.createWebhook({ url: `${receiver.url}/ops`, eventTypes: ["unrelated.thing"] }, asOwner("key_auto"));
  receiver.script("/failing", () => ({ status: 500 }));
  await client.publishEvent({ type: "health.check", data: {} });
  const notice = await eventually(() => receiver.on("/ops")[0], "endpoint.disabled notice");
  expect(JSON.parse(notice.body)).toMatchObject({ type: "endpoint.disabled", data: { webhook_id: failing.webhook!.id } });
  const { webhook } = await client.getWebhook({ id: failing.webhook!.id }, asOwner("key_auto"));
  expect(webhook!.enabled).toBe(false);
  expect(webhook!.disabledReason).toContain("failing with no success since");
  // Failing for a second at 0.3 s intervals: a handful of attempts, far below MAX_ATTEMPTS.
  const attempts = receiver.on("/failing").length;
  expect(attempts).toBeGreaterThan(1);
  expect(attempts).toBeLessThan(20);
  const { deliveries } = await client.listDeliveries({ webhookId: failing.webhook!.id }, asOwner("key_auto"));
  expect(deliveries[0]!.status).toBe("dead_letter");

  // Re-enabling clears the reason and the failure clock.
  const enabled = await client.updateWebhook({ id: failing.webhook!.id, enabled: true }, asOwner("key_auto"));
  expect(enabled.webhook!.disabledReason).toBe("");
});

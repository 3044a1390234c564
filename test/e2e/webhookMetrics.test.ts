// Known webhook traffic through the real mesh (deliveries that succeed, fail
// then succeed, dead-letter; idempotency replays) read back from
// GET /v1/monitoring/webhooks/metrics as exact counts, alerts flipping at their
// thresholds, figures surviving a MetricsService restart, and the delivery
// kill switch flipped through the flags REST API holding deliveries as pending.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { counter } from "../keys/gatewayClient.js";
import { eventually, startReceiver, type Answer, type Receiver } from "../webhooks/receiver.js";
import { webhookClient } from "../webhooks/webhookClient.js";

let mesh: Mesh;
let receiver: Receiver;
let ownerKey: string;

beforeAll(async () => {
  receiver = await startReceiver();
  mesh = await startMesh({
    env: {
      ONERING_WEBHOOKS_MAX_ATTEMPTS: "2",
      ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.2",
      // Long enough to hold a retry open while the test watches it.
      ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "15",
      ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
      ONERING_ALERT_DEAD_LETTER_24H: "1",
      ONERING_ALERT_REPLAY_REJECTED_24H: "2",
    },
  });
  ownerKey = (await rest("POST", "/v1/admin/external/keys", { name: "hooks", tier: "pro" })).body.secret;
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
});

async function rest(method: string, path: string, body?: unknown, key = mesh.adminKey) {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return { status: res.status, body: json };
}

async function subscribe(path: string, type: string): Promise<string> {
  const { body } = await rest("POST", "/v1/external/webhooks", { url: `${receiver.url}${path}`, event_types: [type] }, ownerKey);
  return body.webhook.id;
}

const publish = (type: string, idempotencyKey = "") => rest("POST", "/v1/admin/events", { type, data: { at: Date.now() }, idempotency_key: idempotencyKey });

const metrics = async () => (await rest("GET", "/v1/monitoring/webhooks/metrics")).body;

/** Polls the metrics until they show the expected counts (records arrive asynchronously). */
const metricsReaching = (expected: Record<string, string>) =>
  eventually(async () => {
    const body = await metrics();
    return Object.entries(expected).every(([k, v]) => body[k] === v) && body;
  }, `webhook metrics ${JSON.stringify(expected)}`, 30_000);

let settled: Record<string, any>;

it("counts delivered, failed, dead-lettered and replay-rejected exactly, with the alerts flipping at their thresholds", async () => {
  // The flaky endpoint fails once, then holds its retry open until the test has seen it counted as retrying.
  let release!: () => void;
  const released = new Promise<Answer>((resolve) => (release = () => resolve({ status: 200 })));
  receiver.script("/flaky", (n) => (n === 1 ? { status: 503, body: "warming up" } : released));
  receiver.script("/down", () => ({ status: 500, body: "down" }));
  await subscribe("/ok", "ok.happened");
  await subscribe("/flaky", "flaky.happened");
  await subscribe("/down", "down.happened");

  // Three clean deliveries; one that fails once then succeeds; one that dead-letters after two attempts.
  for (let i = 0; i < 3; i++) await publish("ok.happened");
  await publish("flaky.happened");
  await publish("down.happened");
  // One keyed event delivered once, then two replays of its key that publish nothing.
  const original = await publish("ok.happened", "metrics-key-1");
  for (let i = 0; i < 2; i++) {
    const replay = await publish("ok.happened", "metrics-key-1");
    expect(replay.body).toEqual({ ...original.body, replayed: true });
  }

  await metricsReaching({ retrying: "1" });
  await eventually(() => receiver.on("/flaky").length === 2, "the held retry");
  release();

  // 6 publishes accepted and 2 rejected: rate 2/8. Delivered 5 with 6 attempts between them: 0.2 retries each.
  const body = await metricsReaching({ delivered: "5", failed: "3", dead_letter: "1", replay_rejected: "2", pending: "0", retrying: "0" });
  expect(body.replay_rejected_rate).toBe(0.25);
  expect(body.average_retry_count).toBeCloseTo(0.2, 10);
  for (const p of ["latency_p50_seconds", "latency_p90_seconds", "latency_p99_seconds"]) expect(body[p], p).toBeGreaterThan(0);
  expect(body.latency_p50_seconds).toBeLessThanOrEqual(body.latency_p90_seconds);
  expect(body.latency_p90_seconds).toBeLessThanOrEqual(body.latency_p99_seconds);
  expect(receiver.on("/ok")).toHaveLength(4);
  expect(receiver.on("/flaky")).toHaveLength(2);
  expect(receiver.on("/down")).toHaveLength(2);
  // At the thresholds (1 dead letter, 2 rejected replays) nothing fires yet.
  expect(body.alerts.dead_letter).toEqual({ threshold: 1, observed: 1, firing: false });
  expect(body.alerts.replay_rejected).toEqual({ threshold: 2, observed: 2, firing: false });

  // One more of each crosses both thresholds.
  await publish("down.happened");
  await publish("ok.happened", "metrics-key-1");
  settled = await metricsReaching({ delivered: "5", failed: "5", dead_letter: "2", replay_rejected: "3", pending: "0", retrying: "0" });
  expect(settled.alerts.dead_letter).toEqual({ threshold: 1, observed: 2, firing: true });
  expect(settled.alerts.replay_rejected).toEqual({ threshold: 2, observed: 3, firing: true });
  expect(settled.replay_rejected_rate).toBe(3 / 10);
  expect(settled.alerts.latency_p90.firing).toBe(false);
});

it("keeps the figures across a MetricsService restart", async () => {
  expect(settled).toBeDefined();
  await mesh.stopProcess("metrics");
  await mesh.startProcess("metrics");
  expect(await metrics()).toEqual(settled);
});

it("holds deliveries as pending while webhooks_delivery_enabled is off through the flags API, and sends them all when it is on", async () => {
  await subscribe("/held", "held.happened");
  const workerLogs = mesh.processes.get("webhook-worker")!.logs;
  const seen = workerLogs.length;
  const off = await rest("PUT", "/v1/admin/flags/webhooks_delivery_enabled", { enabled: false });
  expect(off.body.flag).toMatchObject({ name: "webhooks_delivery_enabled", enabled: false });
  try {
    await eventually(() => workerLogs.slice(seen).some((l) => l.includes("runtime flag changed") && l.includes("webhooks_delivery_enabled")), "the worker seeing the flip");
    const attempts = () => counter(mesh.url("webhook-worker"), "onering_webhook_attempts_total", {});
    const attemptsBefore = await attempts();
    expect(attemptsBefore).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) await publish("held.happened");
    await metricsReaching({ pending: "4", delivered: "5" });
    // Every job has reached JetStream, so nothing but the switch holds them back.
    const webhooks = webhookClient(mesh);
    await eventually(async () => (await webhooks.getDeliveryStats({})).outboxBacklog === 0n, "outbox relayed");
    expect(receiver.on("/held")).toHaveLength(0);
    expect(await attempts()).toBe(attemptsBefore);
    expect((await metrics()).pending).toBe("4");
  } finally {
    const on = await rest("PUT", "/v1/admin/flags/webhooks_delivery_enabled", { enabled: true });
    expect(on.body.flag.enabled).toBe(true);
  }
  await metricsReaching({ pending: "0", delivered: "9", failed: "5", dead_letter: "2" });
  expect(receiver.on("/held")).toHaveLength(4);
});

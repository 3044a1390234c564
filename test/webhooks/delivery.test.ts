// End to end through real processes (WebhookService + delivery worker) with
// real Postgres, NATS JetStream and a real local receiver: signatures, retries
// and dead letters, replay, kill switches, pause, 410, receiver faults.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Webhook as StandardWebhook } from "standardwebhooks";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonOf, violationsOf } from "../../services/shared/errors.js";
import type { Mesh } from "../harness/mesh.js";
import { eventually, type Receiver } from "./receiver.js";
import { asOwner, consumerInfo, meshFlags, webhookClient } from "./webhookClient.js";
import { startWebhookMesh, stopWebhookMesh } from "./webhookMesh.js";

let mesh: Mesh;
let receiver: Receiver;
let client: ReturnType<typeof webhookClient>;

beforeAll(async () => {
  ({ mesh, receiver, client } = await startWebhookMesh({
    ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.2,0.4",
    ONERING_WEBHOOKS_MAX_ATTEMPTS: "3",
    ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "1",
    ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
    // Retries and dead letters here, not the circuit breaker (isolation.test.ts), which would pause the failing receivers.
    ONERING_WEBHOOKS_CIRCUIT_FAILURES: "1000",
  }));
});
afterAll(() => stopWebhookMesh({ mesh, receiver }));

let seq = 0;
async function subscribe(owner: string, eventTypes: string[], path = `/hook-${++seq}`) {
  const res = await client.createWebhook({ url: `${receiver.url}${path}`, eventTypes }, asOwner(owner));
  return { ...res, path };
}

const uniqueType = () => `test${++seq}.happened`;

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!err) throw new Error("expected the call to fail");
  return err;
}

describe("signatures", () => {
  it("every delivery verifies with the standardwebhooks package and carries a stable id", async () => {
    const type = uniqueType();
    const { secret, path, webhook } = await subscribe("key_sig", [type]);
    expect(secret).toMatch(/^whsec_/);
    const published = await client.publishEvent({ type, data: { amount: 42, nested: { ok: true } } });
    expect(published.deliveryCount).toBe(1);

    const [req] = await eventually(() => receiver.on(path).length === 1 && receiver.on(path), "delivery");
    const payload = new StandardWebhook(secret).verify(req!.body, req!.headers as Record<string, string>) as { type: string; data: unknown; id: string };
    expect(payload.type).toBe(type);
    expect(payload.id).toBe(published.event!.id);
    expect(payload.data).toEqual({ amount: 42, nested: { ok: true } });
    expect(req!.headers["user-agent"]).toMatch(/^OneRing-Webhooks/);

    const deliveries = await eventually(async () => {
      const { deliveries } = await client.listDeliveries({ webhookId: webhook!.id }, asOwner("key_sig"));
      return deliveries[0]?.status === "delivered" && deliveries;
    }, "delivered status");
    expect(req!.headers["webhook-id"]).toBe(deliveries[0]!.id);
    expect(deliveries[0]!.attempts.map((a) => a.statusCode)).toEqual([200]);

    // A signature made with a different secret is refused: the check is real.
    const other = (await subscribe("key_sig", ["x.y"])).secret;
    expect(() => new StandardWebhook(other).verify(req!.body, req!.headers as Record<string, string>)).toThrow();
  });

  it("signs with both secrets during a rotation's grace period, and only the new one without grace", async () => {
    const type = uniqueType();
    const { secret: oldSecret, path, webhook } = await subscribe("key_rot", [type]);
    const rotated = await client.rotateWebhookSecret({ id: webhook!.id, gracePeriodSeconds: 3600n }, asOwner("key_rot"));
    expect(rotated.secret).not.toBe(oldSecret);
    await client.publishEvent({ type, data: { n: 1 } });
    const [req] = await eventually(() => receiver.on(path).length === 1 && receiver.on(path), "delivery");
    const headers = req!.headers as Record<string, string>;
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(() => new StandardWebhook(oldSecret).verify(req!.body, headers)).not.toThrow();
    expect(() => new StandardWebhook(rotated.secret).verify(req!.body, headers)).not.toThrow();

    const again = await client.rotateWebhookSecret({ id: webhook!.id, gracePeriodSeconds: 0n }, asOwner("key_rot"));
    await client.publishEvent({ type, data: { n: 2 } });
    const second = await eventually(() => receiver.on(path)[1], "second delivery");
    const h2 = second.headers as Record<string, string>;
    expect(h2["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(() => new StandardWebhook(again.secret).verify(second.body, h2)).not.toThrow();
    expect(() => new StandardWebhook(rotated.secret).verify(second.body, h2)).toThrow();
  });
});

describe("retries and dead letters", () => {
  it("retries a failing receiver MAX_ATTEMPTS times, dead-letters it, and replays it under the same id", async () => {
    const type = uniqueType();
    const { path, webhook } = await subscribe("key_retry", [type]);
    receiver.script(path, () => ({ status: 500, body: "boom" }));
    await client.publishEvent({ type, data: {} });

    const dead = await eventually(async () => {
      const { deadLetters } = await client.listDeadLetters({ webhookId: webhook!.id });
      return deadLetters[0];
    }, "dead letter");
    expect(receiver.on(path)).toHaveLength(3);
    expect(dead.attempts.map((a) => [a.number, a.statusCode, a.responseBody])).toEqual([
      [1, 500, "boom"],
      [2, 500, "boom"],
      [3, 500, "boom"],
    ]);
    expect(new Set(receiver.on(path).map((r) => r.headers["webhook-id"]))).toEqual(new Set([dead.id]));
    // The retries waited for the backoff: each attempt starts after the previous one plus (most of) its delay.
    const times = dead.attempts.map((a) => Number(a.attemptTime!.seconds) * 1000 + a.attemptTime!.nanos / 1e6);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(0.2 * 0.8 * 1000 - 5);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(0.4 * 0.8 * 1000 - 5);

    const filtered = await client.listDeadLetters({ eventType: "no.such.type" });
    expect(filtered.deadLetters.find((d) => d.id === dead.id)).toBeUndefined();
    const future = await client.listDeadLetters({ webhookId: webhook!.id, since: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 } });
    expect(future.deadLetters).toHaveLength(0);

    receiver.script(path, () => ({ status: 204 }));
    const replayed = await client.replayDelivery({ id: dead.id });
    expect(replayed.delivery!.id).toBe(dead.id);
    const fourth = await eventually(() => receiver.on(path)[3], "replayed delivery");
    expect(fourth.headers["webhook-id"]).toBe(dead.id);
    await eventually(async () => (await client.listDeliveries({ webhookId: webhook!.id }, asOwner("key_retry"))).deliveries[0]?.status === "delivered", "delivered after replay");
  });

  it("replays every dead letter since a time (bulk recover)", async () => {
    const type = uniqueType();
    const { path, webhook } = await subscribe("key_bulk", [type]);
    receiver.script(path, () => ({ status: 503 }));
    const since = new Date();
    for (let i = 0; i < 3; i++) await client.publishEvent({ type, data: { i } });
    await eventually(async () => (await client.listDeadLetters({ webhookId: webhook!.id })).deadLetters.length === 3, "three dead letters");
    receiver.script(path, () => ({ status: 200 }));
    const { replayedCount } = await client.replayDeadLetters({ since: { seconds: BigInt(Math.floor(since.getTime() / 1000) - 1), nanos: 0 }, webhookId: webhook!.id });
    expect(replayedCount).toBe(3);
    await eventually(async () => (await client.listDeliveries({ webhookId: webhook!.id, status: "delivered" }, asOwner("key_bulk"))).deliveries.length === 3, "all delivered");
  });

  it("a 410 Gone dead-letters at once, disables the endpoint and tells the owner's other endpoints", async () => {
    const type = uniqueType();
    const gone = await subscribe("key_gone", [type]);
    const watcher = await subscribe("key_gone", ["unrelated.type"]);
    const stranger = await subscribe("key_other", ["endpoint.disabled"]);
    receiver.script(gone.path, () => ({ status: 410 }));
    await client.publishEvent({ type, data: {} });
    const notice = await eventually(() => receiver.on(watcher.path)[0], "endpoint.disabled notice");
    expect(JSON.parse(notice.body)).toMatchObject({ type: "endpoint.disabled", data: { webhook_id: gone.webhook!.id } });
    expect(receiver.on(gone.path)).toHaveLength(1);
    const { webhook } = await client.getWebhook({ id: gone.webhook!.id }, asOwner("key_gone"));
    expect(webhook!.enabled).toBe(false);
    expect(webhook!.disabledReason).toContain("410");
    expect(receiver.on(stranger.path)).toHaveLength(0);
  });

  it("replay into a webhook a 410 disabled answers WEBHOOK_DISABLED and changes nothing; enabled again it is delivered, and a delivered one is resent, all under one webhook-id", async () => {
    const type = uniqueType();
    const { path, webhook } = await subscribe("key_replay_gone", [type]);
    receiver.script(path, (n) => (n === 1 ? { status: 410 } : { status: 200 }));
    await client.publishEvent({ type, data: {} });
    const dead = await eventually(async () => (await client.listDeadLetters({ webhookId: webhook!.id })).deadLetters[0], "dead letter");
    await eventually(async () => !(await client.getWebhook({ id: webhook!.id }, asOwner("key_replay_gone"))).webhook!.enabled, "disabled by the 410");

    const refused = await rejection(client.replayDelivery({ id: dead.id }));
    expect([refused.code, reasonOf(refused)]).toEqual([Code.FailedPrecondition, "WEBHOOK_DISABLED"]);
    expect(refused.rawMessage).toContain(`webhook ${webhook!.id} is disabled (the receiver answered 410 Gone)`);
    const bulk = await client.replayDeadLetters({ webhookId: webhook!.id });
    expect([bulk.replayedCount, bulk.skippedCount, bulk.skipped.map((s) => [s.webhookId, s.reason, s.count])]).toEqual([0, 1, [[webhook!.id, "webhook_disabled", 1]]]);
    // Still listed exactly as it was (the old replay turned it into a silent "dropped").
    expect((await client.listDeadLetters({ webhookId: webhook!.id })).deadLetters).toEqual([dead]);

    await client.updateWebhook({ id: webhook!.id, enabled: true }, asOwner("key_replay_gone"));
    const replayed = await client.replayDelivery({ id: dead.id });
    expect([replayed.delivery!.id, replayed.previousStatus, replayed.resend]).toEqual([dead.id, "dead_letter", false]);
    const second = await eventually(() => receiver.on(path)[1], "delivery once enabled again");
    expect(second.headers["webhook-id"]).toBe(dead.id);
    await eventually(async () => (await client.listDeliveries({ webhookId: webhook!.id }, asOwner("key_replay_gone"))).deliveries[0]?.status === "delivered", "delivered");

    const resent = await client.replayDelivery({ id: dead.id });
    expect([resent.previousStatus, resent.resend]).toEqual(["delivered", true]);
    const third = await eventually(() => receiver.on(path)[2], "resend");
    expect(third.headers["webhook-id"]).toBe(dead.id);
  });

  it("bulk replay queues the dead letters of enabled webhooks and reports per webhook those of disabled or deleted ones, left listed", async () => {
    const type = uniqueType();
    // One owner each: the 410 tells its owner's other endpoints, which would add dead letters here.
    const [failing, gone, deleted] = [await subscribe("key_replay_bulk_a", [type]), await subscribe("key_replay_bulk_b", [type]), await subscribe("key_replay_bulk_c", [type])];
    let healthy = false;
    receiver.script(failing.path, () => ({ status: healthy ? 200 : 500 }));
    receiver.script(gone.path, () => ({ status: 410 }));
    receiver.script(deleted.path, () => ({ status: 500 }));
    const since = new Date();
    await client.publishEvent({ type, data: {} });
    const deadOf = async (webhookId: string) => (await client.listDeadLetters({ webhookId })).deadLetters;
    const before = await eventually(async () => {
      const lists = await Promise.all([failing, gone, deleted].map((s) => deadOf(s.webhook!.id)));
      return lists.every((l) => l.length === 1) && lists.map((l) => l[0]!);
    }, "three dead letters");
    await client.deleteWebhook({ id: deleted.webhook!.id }, asOwner("key_replay_bulk_c"));
    healthy = true;

    const res = await client.replayDeadLetters({ since: timestampFromDate(since) });
    expect([res.replayedCount, res.skippedCount]).toEqual([1, 2]);
    expect(res.skipped.map((s) => [s.webhookId, s.reason, s.count]).sort()).toEqual(
      [
        [gone.webhook!.id, "webhook_disabled", 1],
        [deleted.webhook!.id, "webhook_deleted", 1],
      ].sort(),
    );
    expect(await deadOf(gone.webhook!.id)).toEqual([before[1]]);
    expect(await deadOf(deleted.webhook!.id)).toEqual([before[2]]);
    const replayed = await eventually(() => receiver.on(failing.path)[3], "the enabled webhook's dead letter sent again");
    expect(replayed.headers["webhook-id"]).toBe(before[0]!.id);

    const refused = await rejection(client.replayDelivery({ id: before[2]!.id }));
    expect([reasonOf(refused), refused.rawMessage]).toEqual(["WEBHOOK_DISABLED", expect.stringContaining(`webhook ${deleted.webhook!.id} was deleted`)]);
    expect(receiver.on(gone.path)).toHaveLength(1);
  });

  it("Retry-After on a 429 is honoured within [scheduled, 2 × scheduled]", async () => {
    const type = uniqueType();
    const { path, webhook } = await subscribe("key_ra", [type]);
    receiver.script(path, (n) => (n === 1 ? { status: 429, headers: { "retry-after": "3600" } } : { status: 200 }));
    await client.publishEvent({ type, data: {} });
    const delivery = await eventually(async () => {
      const d = (await client.listDeliveries({ webhookId: webhook!.id }, asOwner("key_ra"))).deliveries[0];
      return d?.status === "delivered" && d;
    }, "delivered after Retry-After");
    const [a, b] = delivery.attempts.map((x) => Number(x.attemptTime!.seconds) * 1000 + x.attemptTime!.nanos / 1e6);
    // An hour was asked for; the clamp allows at most twice the 0.2 s schedule.
    expect(b! - a!).toBeLessThan(0.4 * 1000 + 5000);
    expect(b! - a!).toBeGreaterThanOrEqual(0.4 * 1000 - 5);
  });
});

describe("receiver faults are one failed attempt each, never a crashed worker", () => {
  const cases: [string, () => import("./receiver.js").Answer, (a: { statusCode: number; error: string; responseBody: string }) => void][] = [
    ["hang", () => "hang", (a) => expect(a.error).toMatch(/timed out/)],
    ["reset", () => "reset", (a) => expect(a.error).not.toBe("")],
    ["3xx (not followed)", () => ({ status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } }), (a) => expect(a.statusCode).toBe(302)],
    ["4xx", () => ({ status: 400, body: "bad" }), (a) => expect([a.statusCode, a.responseBody]).toEqual([400, "bad"])],
    ["5xx", () => ({ status: 502 }), (a) => expect(a.statusCode).toBe(502)],
    ["huge body", () => ({ status: 500, body: Buffer.alloc(5 * 1024 * 1024, "x") }), (a) => expect(a.responseBody.length).toBeLessThanOrEqual(4096)],
  ];
  it.each(cases)("%s", async (_name, answer, checkAttempt) => {
    const type = uniqueType();
    const { path, webhook } = await subscribe("key_fault", [type]);
    receiver.script(path, (n) => (n === 1 ? answer() : { status: 200 }));
    await client.publishEvent({ type, data: {} });
    const delivery = await eventually(async () => {
      const d = (await client.listDeliveries({ webhookId: webhook!.id }, asOwner("key_fault"))).deliveries[0];
      return d?.status === "delivered" && d;
    }, "delivery after the fault");
    expect(delivery.attempts).toHaveLength(2);
    checkAttempt(delivery.attempts[0]!);
    expect(delivery.attempts[1]!.statusCode).toBe(200);
    expect(mesh.processes.get("webhook-worker")!.child.exitCode).toBeNull();
  });
});

describe("publishing", () => {
  it("an idempotency key reused within the replay window publishes nothing new and is counted", async () => {
    const type = uniqueType();
    const { path } = await subscribe("key_idem", [type]);
    const first = await client.publishEvent({ type, data: { v: 1 }, idempotencyKey: `idem-${seq}` });
    const again = await client.publishEvent({ type, data: { v: 2 }, idempotencyKey: `idem-${seq}` });
    expect(first.replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(again.event!.id).toBe(first.event!.id);
    expect(again.event!.data).toEqual({ v: 1 });
    await eventually(() => receiver.on(path).length === 1, "one delivery");
    const metrics = await (await fetch(`${mesh.url("webhook")}/metrics`)).text();
    expect(metrics).toMatch(/onering_webhook_replay_rejected_total\{[^}]*\} [1-9]/);
    expect((await client.getDeliveryStats({})).replayRejected24h).toBeGreaterThanOrEqual(1n);
  });

  it("fans out to exact and prefix.* matches only", async () => {
    const exact = await subscribe("key_fan", ["order.created"]);
    const prefix = await subscribe("key_fan", ["order.*"]);
    const other = await subscribe("key_fan", ["invoice.*"]);
    const res = await client.publishEvent({ type: "order.created", data: {} });
    expect(res.deliveryCount).toBeGreaterThanOrEqual(2);
    await eventually(() => receiver.on(exact.path).length === 1 && receiver.on(prefix.path).length === 1, "both matches");
    expect(receiver.on(other.path)).toHaveLength(0);
  });

  it("rejects data over 256 KiB with PAYLOAD_TOO_LARGE and bad input with violations, storing nothing", async () => {
    const before = await client.getDeliveryStats({});
    const big = await rejection(client.publishEvent({ type: "x.y", data: { blob: "x".repeat(256 * 1024) } }));
    expect(reasonOf(big)).toBe("PAYLOAD_TOO_LARGE");
    const bad = await rejection(client.publishEvent({ type: "not a type!", idempotencyKey: "k".repeat(300) }));
    expect(reasonOf(bad)).toBe("INVALID_ARGUMENT");
    expect(bad.message).toContain("type");
    expect(bad.message).toContain("data");
    expect(bad.message).toContain("idempotency_key");
    const after = await client.getDeliveryStats({});
    expect(after.pending + after.retrying + after.delivered + after.deadLetter).toBe(before.pending + before.retrying + before.delivered + before.deadLetter);
  });
});

describe("webhooks", () => {
  it("belong to their owner: another key gets NOT_FOUND, no owner gets UNAUTHENTICATED", async () => {
    const { webhook } = await subscribe("key_alice", ["a.b"]);
    const bob = asOwner("key_bob");
    for (const call of [
      () => client.getWebhook({ id: webhook!.id }, bob),
      () => client.updateWebhook({ id: webhook!.id, description: "mine now" }, bob),
      () => client.deleteWebhook({ id: webhook!.id }, bob),
      () => client.rotateWebhookSecret({ id: webhook!.id }, bob),
      () => client.testWebhook({ id: webhook!.id }, bob),
      () => client.listDeliveries({ webhookId: webhook!.id }, bob),
    ]) {
      expect((await rejection(call())).code).toBe(Code.NotFound);
    }
    expect((await client.listWebhooks({}, asOwner("key_bob"))).webhooks.map((w) => w.id)).not.toContain(webhook!.id);
    expect((await client.listWebhooks({}, asOwner("key_alice"))).webhooks.map((w) => w.id)).toContain(webhook!.id);
    expect((await rejection(client.getWebhook({ id: webhook!.id }))).code).toBe(Code.Unauthenticated);
    expect((await client.getWebhook({ id: webhook!.id }, asOwner("key_alice"))).webhook!.description).toBe("");
  });

  it("validates input, listing every violation", async () => {
    const err = await rejection(client.createWebhook({ url: "ftp://x", eventTypes: ["ok.type", "bad type"], description: "d".repeat(600) }, asOwner("key_v")));
    expect(reasonOf(err)).toBe("INVALID_ARGUMENT");
    for (const field of ["url", "event_types[1]", "description"]) expect(err.message).toContain(field);
    expect((await client.listWebhooks({}, asOwner("key_v"))).webhooks).toHaveLength(0);
    const { webhook } = await subscribe("key_v", ["a.b"]);
    const status = await rejection(client.listDeliveries({ webhookId: webhook!.id, status: "lost" }, asOwner("key_v")));
    expect(violationsOf(status)).toEqual([{ field: "status", description: expect.stringContaining("dead_letter") }]);
    const size = await rejection(client.listWebhooks({ pageToken: "forged", pageSize: 500 }, asOwner("key_v")));
    expect(violationsOf(size).map((v) => v.field)).toEqual(["page_size"]);
    const token = await rejection(client.listWebhooks({ pageToken: "forged" }, asOwner("key_v")));
    expect(violationsOf(token).map((v) => v.field)).toEqual(["page_token"]);
  });

  it(":test sends webhook.test to that one endpoint", async () => {
    const { webhook, path, secret } = await subscribe("key_test", ["never.published"]);
    const { delivery } = await client.testWebhook({ id: webhook!.id }, asOwner("key_test"));
    expect(delivery!.eventType).toBe("webhook.test");
    const req = await eventually(() => receiver.on(path)[0], "test delivery");
    expect(new StandardWebhook(secret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ type: "webhook.test" });
  });

  it("pause queues deliveries and resume sends them, none lost", async () => {
    const type = uniqueType();
    const { webhook, path } = await subscribe("key_pause", [type]);
    await client.updateWebhook({ id: webhook!.id, paused: true }, asOwner("key_pause"));
    for (let i = 0; i < 5; i++) await client.publishEvent({ type, data: { i } });
    // Give the worker the chance to (wrongly) send: the jobs are claimed and parked.
    await eventually(async () => (await client.getDeliveryStats({})).outboxBacklog >= 5n, "deliveries parked in the outbox");
    expect(receiver.on(path)).toHaveLength(0);
    await client.updateWebhook({ id: webhook!.id, paused: false }, asOwner("key_pause"));
    await eventually(() => receiver.on(path).length === 5, "five deliveries after resume");
  });

  it("a webhook deleted with queued deliveries drops them", async () => {
    const type = uniqueType();
    const { webhook, path } = await subscribe("key_del", [type]);
    receiver.script(path, () => ({ status: 500 }));
    await client.publishEvent({ type, data: {} });
    await eventually(() => receiver.on(path).length >= 1, "first attempt");
    await client.deleteWebhook({ id: webhook!.id }, asOwner("key_del"));
    const attemptsAtDelete = receiver.on(path).length;
    const db = new pg.Client({ connectionString: mesh.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query("select status from webhooks.deliveries where webhook_id = $1", [webhook!.id]);
      expect(rows).toEqual([{ status: "dropped" }]);
    } finally {
      await db.end();
    }
    // Wait until the worker has taken the queued retry off the stream, then check it was not sent.
    await eventually(async () => {
      const info = await consumerInfo(mesh);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, "the queued job handled");
    expect(receiver.on(path).length).toBeLessThanOrEqual(attemptsAtDelete + 1);
    expect((await rejection(client.getWebhook({ id: webhook!.id }, asOwner("key_del")))).code).toBe(Code.NotFound);
  });
});

describe("kill switches", () => {
  it("webhooks_delivery_enabled off queues deliveries as pending; on again sends them all", async () => {
    const { flags, close } = await meshFlags(mesh);
    try {
      const type = uniqueType();
      const { webhook, path } = await subscribe("key_flag", [type]);
      const workerLogs = mesh.processes.get("webhook-worker")!.logs;
      const seen = workerLogs.length;
      await flags.set("webhooks_delivery_enabled", false, "test");
      await eventually(() => workerLogs.slice(seen).some((l) => l.includes("runtime flag changed") && l.includes("webhooks_delivery_enabled")), "the worker seeing the flip");
      for (let i = 0; i < 10; i++) await client.publishEvent({ type, data: { i } });
      await eventually(async () => (await client.getDeliveryStats({})).outboxBacklog === 0n, "outbox relayed");
      const pending = await client.listDeliveries({ webhookId: webhook!.id, status: "pending" }, asOwner("key_flag"));
      expect(pending.deliveries).toHaveLength(10);
      expect(receiver.on(path)).toHaveLength(0);
      await flags.set("webhooks_delivery_enabled", true, "test");
      await eventually(() => receiver.on(path).length === 10, "ten deliveries after the switch is back on");
    } finally {
      await flags.set("webhooks_delivery_enabled", true, "test");
      await close();
    }
  });

  it("webhooks_enabled off refuses webhook and publish calls with WEBHOOKS_DISABLED", async () => {
    const { flags, close } = await meshFlags(mesh);
    try {
      await flags.set("webhooks_enabled", false, "test");
      await eventually(async () => {
        const err = await client.publishEvent({ type: "a.b", data: {} }).then(() => undefined, (e: unknown) => ConnectError.from(e));
        return err && reasonOf(err) === "WEBHOOKS_DISABLED";
      }, "publish refused");
      const err = await rejection(client.createWebhook({ url: `${receiver.url}/x`, eventTypes: ["a.b"] }, asOwner("key_off")));
      expect(reasonOf(err)).toBe("WEBHOOKS_DISABLED");
      expect(err.code).toBe(Code.Unavailable);
    } finally {
      await flags.set("webhooks_enabled", true, "test");
      await close();
    }
  });
});

describe("paging", () => {
  it("pages deliveries and dead letters by cursor: rows added between pages never repeat or shift a page", async () => {
    const type = uniqueType();
    const owner = asOwner("key_page");
    const { webhook } = await subscribe("key_page", [type]);
    const webhookId = webhook!.id;
    // Paused: deliveries stay queued here, so this test alone decides their status.
    await client.updateWebhook({ id: webhookId, paused: true }, owner);
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) await client.publishEvent({ type, data: { i } });
    };
    const rest = async <T>(first: { items: T[]; next: string }, next: (token: string) => Promise<{ items: T[]; next: string }>) => {
      const seen = [...first.items];
      for (let token = first.next; token; ) {
        const page = await next(token);
        seen.push(...page.items);
        token = page.next;
      }
      return seen;
    };

    await publish(5);
    const deliveryPage = async (pageToken = "") => {
      const page = await client.listDeliveries({ webhookId, pageSize: 2, pageToken }, owner);
      return { items: page.deliveries.map((d) => d.id), next: page.nextPageToken };
    };
    const firstDeliveries = await deliveryPage();
    await publish(3);
    const pagedDeliveries = await rest(firstDeliveries, deliveryPage);
    const all = (await client.listDeliveries({ webhookId, pageSize: 200 }, owner)).deliveries.map((d) => d.id);
    expect(all).toHaveLength(8);
    // The three newer ones sort ahead of the cursor: the pages hold exactly the first five, in order.
    expect(pagedDeliveries).toEqual(all.slice(3));

    const db = new pg.Client({ connectionString: mesh.databaseUrl });
    await db.connect();
    try {
      const deadLetter = (ids: string[]) => db.query("update webhooks.deliveries set status = 'dead_letter', dead_lettered_at = clock_timestamp() where id = any($1)", [ids]);
      // Oldest first, one statement each, so each has its own dead-letter time.
      for (const id of all.slice(3).reverse()) await deadLetter([id]);
      const deadPage = async (pageToken = "") => {
        const page = await client.listDeadLetters({ webhookId, pageSize: 2, pageToken });
        return { items: page.deadLetters.map((d) => d.id), next: page.nextPageToken };
      };
      const firstDead = await deadPage();
      for (const id of all.slice(0, 3).reverse()) await deadLetter([id]);
      expect(await rest(firstDead, deadPage)).toEqual(all.slice(3));
      expect((await client.listDeadLetters({ webhookId, pageSize: 200 })).deadLetters.map((d) => d.id)).toEqual(all);
    } finally {
      await db.end();
    }
  });
});

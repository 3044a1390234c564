// Distributed tracing through the real mesh: every process exports to an
// in-test OTLP/HTTP receiver. One event published with a caller's traceparent
// makes one trace, gateway → WebhookService → relay → worker → receiver, and
// its retry, republished by the scheduler from the trace context stored in
// Postgres, joins the same trace; each recorded attempt shows its trace id in
// the delivery log. A warm GET /v1/external/me stays inside the gateway. Log
// lines written inside a traced request carry its trace and span ids.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { SpanKind, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../harness/otlpReceiver.js";
import { eventually, startReceiver, type Receiver } from "../webhooks/receiver.js";

let mesh: Mesh;
let otlp: OtlpReceiver;
let receiver: Receiver;
let key: string;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  receiver = await startReceiver();
  mesh = await startMesh({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      // Debug lines include the gateway's "REST request refused".
      LOG_LEVEL: "debug",
      ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.2",
      ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.2",
    },
  });
  key = (await rest("POST", "/v1/admin/external/keys", mesh.adminKey, { name: "traced", tier: "enterprise" })).body.secret;
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
  await otlp?.close();
});

async function rest(method: string, path: string, credential: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${credential}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A caller's own span: a fresh trace id and the span id the mesh's first span must name as its parent. */
function callerSpan() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const named = (spans: ReceivedSpan[], service: string, name: string, kind: number) => spans.filter((s) => s.service === service && s.name === name && s.kind === kind);

function one(spans: ReceivedSpan[], service: string, name: string, kind: number): ReceivedSpan {
  const found = named(spans, service, name, kind);
  expect(found, `${service} ${name}`).toHaveLength(1);
  return found[0]!;
}

const logLines = (process: "gateway" | "webhook-worker") =>
  mesh.processes
    .get(process)!
    .logs.filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

let meTrace: ReturnType<typeof callerSpan>;

it("answers a warm GET /v1/external/me with gateway spans only, a child of the caller's span", async () => {
  expect((await rest("GET", "/v1/external/me", key)).status).toBe(200);
  meTrace = callerSpan();
  const res = await rest("GET", "/v1/external/me", key, undefined, { traceparent: meTrace.traceparent });
  expect(res.status).toBe(200);
  const server = await eventually(() => named(otlp.trace(meTrace.traceId), "onering-gateway", "onering.v1.GatewayService/GetMe", SpanKind.server)[0], "the GetMe span");
  expect(server.parentSpanId).toBe(meTrace.spanId);
  expect(server.attributes).toMatchObject({ "rpc.system": "connect_rpc", "rpc.service": "onering.v1.GatewayService", "rpc.method": "GetMe", "http.request.method": "GET", "http.response.status_code": 200 });
  // No internal call on the warm path: the gateway made no client span in this trace.
  expect(otlp.trace(meTrace.traceId).filter((s) => s.kind === SpanKind.client)).toEqual([]);
});

it("puts the trace and span ids on the log lines of a traced request", async () => {
  const caller = callerSpan();
  const res = await rest("GET", "/v1/external/me", `sk_live_${"x".repeat(32)}_000000`, undefined, { traceparent: caller.traceparent });
  expect(res.status).toBe(401);
  const server = await eventually(() => otlp.trace(caller.traceId).find((s) => s.kind === SpanKind.server), "the refused request's span");
  const lines = await eventually(() => {
    const found = logLines("gateway").filter((l) => l.trace_id === caller.traceId);
    return found.length > 0 && found;
  }, "a gateway log line in the trace");
  expect(lines[0]).toMatchObject({ msg: "REST request refused", request_id: res.body.request_id, trace_id: caller.traceId, span_id: server.spanId });
  // Outside a request there is no trace on the line.
  expect(logLines("gateway").find((l) => l.msg === "gateway listening")).not.toHaveProperty("trace_id");
});

it("follows one event from the gateway through WebhookService, the relay, the worker and its retry to the receiver", async () => {
  let attempts = 0;
  receiver.script("/traced", () => (++attempts === 1 ? "reset" : { status: 204 }));
  const hook = await rest("POST", "/v1/external/webhooks", key, { url: `${receiver.url}/traced`, event_types: ["trace.checked"] });
  expect(hook.status).toBe(200);
  const webhookId = hook.body.webhook.id as string;

  const caller = callerSpan();
  const published = await rest("POST", "/v1/admin/events", mesh.adminKey, { type: "trace.checked", data: { n: 1 } }, { traceparent: caller.traceparent });
  expect(published.status).toBe(200);
  await eventually(() => receiver.on("/traced").length === 2, "the retry at the receiver");

  const subject = `${mesh.natsPrefix}.webhooks.deliveries`;
  // Each process exports on its own schedule, and a job's span ends after its attempt's: wait for the last of each kind.
  const spans = await eventually(() => {
    const got = otlp.trace(caller.traceId);
    const count = (service: string, name: string, kind: number) => named(got, service, name, kind).length;
    return (
      count("onering-webhook-worker", "POST", SpanKind.client) === 2 &&
      count("onering-webhook-worker", `process ${subject}`, SpanKind.consumer) === 2 &&
      count("onering-webhook", `publish ${subject}`, SpanKind.producer) > 0 &&
      named(got, "onering-webhook", `schedule ${subject}`, SpanKind.producer).some((s) => !s.attributes["onering.jetstream.duplicate"]) &&
      count("onering-gateway", "onering.v1.GatewayService/PublishEvent", SpanKind.server) > 0 &&
      got
    );
  }, "the event's spans from every process");
  const gatewayServer = one(spans, "onering-gateway", "onering.v1.GatewayService/PublishEvent", SpanKind.server);
  const gatewayClient = one(spans, "onering-gateway", "onering.v1.WebhookService/PublishEvent", SpanKind.client);
  const webhookServer = one(spans, "onering-webhook", "onering.v1.WebhookService/PublishEvent", SpanKind.server);
  const relay = one(spans, "onering-webhook", `publish ${subject}`, SpanKind.producer);
  // A sweep may send a job again before the first publish was marked; JetStream drops that copy, and its span says so.
  const schedules = named(spans, "onering-webhook", `schedule ${subject}`, SpanKind.producer);
  const [scheduled, ...more] = schedules.filter((s) => !s.attributes["onering.jetstream.duplicate"]);
  expect(more).toEqual([]);
  for (const s of schedules) expect(s.parentSpanId).toBe(webhookServer.spanId);
  const jobs = named(spans, "onering-webhook-worker", `process ${subject}`, SpanKind.consumer);
  const posts = named(spans, "onering-webhook-worker", "POST", SpanKind.client).sort((a, b) => Number(a.attributes["onering.webhook.attempt"]) - Number(b.attributes["onering.webhook.attempt"]));

  expect(gatewayServer.parentSpanId).toBe(caller.spanId);
  expect(gatewayClient.parentSpanId).toBe(gatewayServer.spanId);
  expect(gatewayClient.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "onering.v1.WebhookService", "rpc.method": "PublishEvent", "rpc.grpc.status_code": 0 });
  expect(webhookServer.parentSpanId).toBe(gatewayClient.spanId);
  expect(webhookServer.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.method": "PublishEvent", "rpc.grpc.status_code": 0 });
  // The relay publishes inside the request; the scheduler resumes the trace stored with the delivery.
  expect(relay.parentSpanId).toBe(webhookServer.spanId);
  expect(scheduled!.parentSpanId).toBe(webhookServer.spanId);
  const deliveryId = relay.attributes["onering.delivery.id"];
  expect(relay.attributes).toMatchObject({ "messaging.system": "nats", "messaging.destination.name": subject, "messaging.message.id": deliveryId, "onering.webhook.id": webhookId });
  expect(scheduled!.attributes).toMatchObject({ "onering.delivery.id": deliveryId, "messaging.message.id": `${deliveryId}.1` });
  // Each job is handled in a child of the publish that sent it, each attempt in a child of its job.
  expect(jobs.map((j) => j.parentSpanId).sort()).toEqual([relay.spanId, scheduled!.spanId].sort());
  expect(posts.map((p) => p.parentSpanId).sort()).toEqual(jobs.map((j) => j.spanId).sort());
  expect(posts[0]!.parentSpanId).toBe(jobs.find((j) => j.parentSpanId === relay.spanId)!.spanId);
  expect(posts[0]!.attributes).toMatchObject({ "onering.webhook.attempt": 1, "server.address": "127.0.0.1", "onering.delivery.id": deliveryId });
  expect(posts[0]!.statusCode).toBe(2);
  expect(posts[1]!.attributes).toMatchObject({ "onering.webhook.attempt": 2, "http.response.status_code": 204 });
  expect(posts[1]!.statusCode).not.toBe(2);
  // What the worker says about the delivery leaves no secret, body or path in the trace.
  const secret = hook.body.secret as string;
  for (const span of spans) expect(JSON.stringify(span)).not.toMatch(new RegExp(`${secret}|/traced|"n":1`));

  // The receiver is handed the attempt's span as its parent.
  const parents = receiver.on("/traced").map((r) => r.headers.traceparent);
  expect(parents).toEqual(posts.map((p) => `00-${caller.traceId}-${p.spanId}-01`));

  // The delivery log shows each attempt's trace id.
  const log = await eventually(async () => {
    const res = await rest("GET", `/v1/external/webhooks/${webhookId}/deliveries`, key);
    const delivery = res.body.deliveries?.[0];
    return delivery?.attempts?.length === 2 && delivery;
  }, "both attempts recorded");
  expect(log.attempts.map((a: { trace_id: string }) => a.trace_id)).toEqual([caller.traceId, caller.traceId]);

  // The worker's line about the failed attempt is in the trace too.
  const failed = logLines("webhook-worker").find((l) => l.msg === "delivery attempt failed" && l.delivery === deliveryId);
  expect(failed).toMatchObject({ trace_id: caller.traceId, span_id: posts[0]!.parentSpanId });

  // By now every process has flushed since the GetMe call: still gateway spans only there.
  expect(new Set(otlp.trace(meTrace.traceId).map((s) => s.service))).toEqual(new Set(["onering-gateway"]));
});

it("links a replayed delivery's new trace to the event's", async () => {
  receiver.script("/replayed", () => ({ status: 200 }));
  const hook = await rest("POST", "/v1/external/webhooks", key, { url: `${receiver.url}/replayed`, event_types: ["trace.replayed"] });
  const first = callerSpan();
  await rest("POST", "/v1/admin/events", mesh.adminKey, { type: "trace.replayed", data: {} }, { traceparent: first.traceparent });
  const delivery = await eventually(async () => {
    const res = await rest("GET", `/v1/external/webhooks/${hook.body.webhook.id}/deliveries`, key);
    const d = res.body.deliveries?.[0];
    return d?.status === "delivered" && d;
  }, "the first delivery");
  const origin = await eventually(() => named(otlp.trace(first.traceId), "onering-webhook", "onering.v1.WebhookService/PublishEvent", SpanKind.server)[0], "the publish span");

  const replay = callerSpan();
  const res = await rest("POST", `/v1/admin/webhooks/deliveries/${delivery.id}:replay`, mesh.adminKey, {}, { traceparent: replay.traceparent });
  expect(res.status).toBe(200);
  const relayName = `publish ${mesh.natsPrefix}.webhooks.deliveries`;
  const post = await eventually(() => named(otlp.trace(replay.traceId), "onering-webhook-worker", "POST", SpanKind.client)[0], "the replayed attempt");
  const relay = await eventually(() => named(otlp.trace(replay.traceId), "onering-webhook", relayName, SpanKind.producer)[0], "the replay's publish");
  expect(relay.links).toEqual([{ traceId: first.traceId, spanId: origin.spanId }]);
  expect(post.attributes["onering.webhook.attempt"]).toBe(2);
});

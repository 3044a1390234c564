// The transcoder against the real GatewayService descriptor and a fake
// implementation, served by the real serve() bootstrap: every REST route of the
// contract reaches the right method with the right request and answers what
// Connect and gRPC answer; errors leave in the one shape; headers set by
// interceptors and the request id reach the caller.
import { createContextKey, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { toJson, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { meshError } from "../../services/shared/errors.js";
import { causedBy, createInternalClient } from "../../services/shared/internalClient.js";
import { createLogger } from "../../services/shared/logger.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { serve, type RunningServer } from "../../services/shared/server.js";
import { createTranscoder } from "../../services/shared/transcoding/transcoder.js";
import { implementation } from "../../services/shared/implementation.js";
import { fakeGateway, fakeResponses } from "./fakeGateway.js";

const maxBodyBytes = 2048;
const callerKey = createContextKey("anonymous", { description: "the caller, as the edge interceptor saw it" });
const order: string[] = [];
const internalIds: Array<string | null> = [];
const abandoned: unknown[] = [];
// Held by the test until the client has gone; x-test-late handlers read their signal only then.
let readLate: Promise<void> = Promise.resolve();

// Stands in for the gateway's auth/limit edge: reads headers, sets a context
// value and response headers, and throws contract errors carrying headers.
const edge: Interceptor = (next) => async (req) => {
  order.push("edge");
  if (req.method.name === "ListFlags") internalIds.push(req.header.get("x-request-id"));
  if (req.header.get("x-test-limit") === "exhausted") {
    const err = meshError("RATE_LIMITED", "hourly limit reached");
    err.metadata.set("retry-after", "42");
    err.metadata.set("x-ratelimit-remaining", "0");
    throw err;
  }
  req.contextValues.set(callerKey, req.header.get("x-api-key") ?? "anonymous");
  const res = await next(req);
  res.header.set("x-ratelimit-limit", "100");
  return res;
};
const inner: Interceptor = (next) => (req) => {
  order.push("inner");
  return next(req);
};

let server: RunningServer;
let base: string;
const fake = fakeGateway({
  getMe: (_req, ctx) => ({ id: "key_1", name: ctx.values.get(callerKey), tier: ctx.requestHeader.get("x-request-id") }),
  getKey: () => {
    throw meshError("NOT_FOUND", "no key key_404");
  },
  revokeKey: () => {
    throw new Error("connection string postgres://user:hunter2@db failed");
  },
  // With x-test-hang, waits until its signal aborts, and keeps the reason.
  listApiKeyInventory: (_req, ctx) =>
    ctx.requestHeader.has("x-test-late")
      ? readLate.then(
          () =>
            new Promise((_, reject) => {
              const keep = () => {
                abandoned.push(ctx.signal.reason);
                reject(ctx.signal.reason);
              };
              if (ctx.signal.aborted) keep();
              else ctx.signal.addEventListener("abort", keep);
            }),
        )
      : ctx.requestHeader.has("x-test-hang")
      ? new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            abandoned.push(ctx.signal.reason);
            reject(ctx.signal.reason);
          }),
        )
      : fakeResponses.listApiKeyInventory,
  getWebhookMetrics: async (_req, ctx) => {
    // Calls back into the mesh, as the real gateway does, to see the request id travel.
    await createInternalClient(GatewayService, { baseUrl: base, internalToken: "t".repeat(16) }).listFlags({}, causedBy(ctx.requestHeader));
    return {};
  },
});

beforeAll(async () => {
  const logger = createLogger("rest-test", "silent");
  const metrics = new ProcessMetrics("rest-test");
  const rest = createTranscoder({ services: [implementation(GatewayService, fake.impl)], interceptors: [edge, inner], maxBodyBytes, logger });
  server = await serve({
    processName: "rest-test",
    config: { host: "127.0.0.1", port: 0, maxBodyBytes },
    logger,
    metrics,
    implementations: [implementation(GatewayService, fake.impl)],
    interceptors: [edge, inner],
    httpHandler: rest.handle,
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.close());

interface RouteCase {
  method: string;
  path: string;
  body?: unknown;
  rpc: string;
  request: JsonObject;
}

// The REST table of DESIGN.md, one case per route.
const contractRoutes: RouteCase[] = [
  { method: "GET", path: "/v1/external/me", rpc: "GetMe", request: {} },
  { method: "POST", path: "/v1/external/webhooks", body: { url: "https://example.com/h", event_types: ["a.*"] }, rpc: "CreateWebhook", request: { url: "https://example.com/h", event_types: ["a.*"] } },
  { method: "GET", path: "/v1/external/webhooks?page_size=10&page_token=t", rpc: "ListWebhooks", request: { page_size: 10, page_token: "t" } },
  { method: "GET", path: "/v1/external/webhooks/wh_1", rpc: "GetWebhook", request: { id: "wh_1" } },
  { method: "PATCH", path: "/v1/external/webhooks/wh_1", body: { enabled: false, description: "d" }, rpc: "UpdateWebhook", request: { id: "wh_1", enabled: false, description: "d" } },
  { method: "DELETE", path: "/v1/external/webhooks/wh%201", rpc: "DeleteWebhook", request: { id: "wh 1" } },
  { method: "POST", path: "/v1/external/webhooks/wh_1:rotate-secret", body: { grace_period_seconds: 60 }, rpc: "RotateWebhookSecret", request: { id: "wh_1", grace_period_seconds: "60" } },
  { method: "POST", path: "/v1/external/webhooks/wh_1:test", rpc: "TestWebhook", request: { id: "wh_1" } },
  { method: "GET", path: "/v1/external/webhooks/wh_1/deliveries?status=failed", rpc: "ListDeliveries", request: { webhook_id: "wh_1", status: "failed" } },
  { method: "POST", path: "/v1/admin/external/keys", body: { name: "ci", tier: "pro", canary: true }, rpc: "CreateKey", request: { name: "ci", tier: "pro", canary: true } },
  { method: "GET", path: "/v1/admin/external/keys?tier=pro&canary=true&include_revoked=1", rpc: "ListKeys", request: { tier: "pro", canary: true, include_revoked: true } },
  { method: "PATCH", path: "/v1/admin/external/keys/key_1", body: { tier: "enterprise" }, rpc: "UpdateKey", request: { id: "key_1", tier: "enterprise" } },
  { method: "POST", path: "/v1/admin/external/keys/key_1:rotate", body: {}, rpc: "RotateKey", request: { id: "key_1", grace_period_seconds: "0" } },
  { method: "POST", path: "/v1/admin/events", body: { type: "invoice.paid", data: { amount: 12 }, idempotency_key: "k1" }, rpc: "PublishEvent", request: { type: "invoice.paid", data: { amount: 12 }, idempotency_key: "k1" } },
  { method: "GET", path: "/v1/admin/webhooks/dead-letters?since=2026-01-01T00:00:00Z&webhook_id=wh_1", rpc: "ListDeadLetters", request: { since: "2026-01-01T00:00:00Z", webhook_id: "wh_1" } },
  { method: "POST", path: "/v1/admin/webhooks/deliveries/dl_1:replay", rpc: "ReplayDelivery", request: { id: "dl_1" } },
  { method: "POST", path: "/v1/admin/webhooks/dead-letters:replay", body: { webhook_id: "wh_1" }, rpc: "ReplayDeadLetters", request: { webhook_id: "wh_1" } },
  { method: "GET", path: "/v1/admin/webhooks/endpoints?failing_only=true&page_size=5", rpc: "ListEndpoints", request: { failing_only: true, page_size: 5 } },
  { method: "GET", path: "/v1/admin/flags", rpc: "ListFlags", request: {} },
  { method: "PUT", path: "/v1/admin/flags/webhooks_enabled", body: { enabled: false }, rpc: "SetFlag", request: { name: "webhooks_enabled", enabled: false } },
  { method: "GET", path: "/v1/admin/flag-changes", rpc: "ListFlagChanges", request: {} },
  { method: "GET", path: "/v1/monitoring/external/metrics?window_seconds=3600", rpc: "GetExternalMetrics", request: { window_seconds: "3600" } },
  { method: "GET", path: "/v1/monitoring/external/api-keys?include_revoked=true", rpc: "ListApiKeyInventory", request: { include_revoked: true } },
  { method: "GET", path: "/v1/monitoring/series?minutes=30", rpc: "GetMinuteSeries", request: { minutes: 30 } },
];

async function rest(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as JsonObject };
}

const lastCall = (rpc: string) => fake.calls.filter((c) => c.method === rpc).at(-1)!;
const asJson = (desc: DescMessage, message: unknown) => toJson(desc, message as never, { useProtoFieldName: true, alwaysEmitImplicit: true });

describe("every contract route", () => {
  it.each(contractRoutes)("$method $path → $rpc, with the answer Connect and gRPC give", async (c) => {
    // One request id for all three calls, since GetMe echoes it.
    const headers = { "x-request-id": `route-${c.rpc}` };
    const res = await rest(c.method, c.path, c.body, headers);
    expect(res.status).toBe(200);
    const call = lastCall(c.rpc);
    const method = GatewayService.methods.find((m) => m.name === c.rpc)!;
    expect(asJson(method.input, call.request)).toMatchObject(c.request);

    for (const transport of [createConnectTransport({ baseUrl: base, httpVersion: "1.1" }), createGrpcTransport({ baseUrl: base })]) {
      const client = createClient(GatewayService, transport) as unknown as Record<string, (req: unknown, options: object) => Promise<unknown>>;
      const answer = await client[method.localName](call.request, { headers });
      expect(res.json).toEqual(asJson(method.output, answer));
    }
  });

  it("covers every annotated method of GatewayService", () => {
    const tested = new Set([...contractRoutes.map((c) => c.rpc), "GetKey", "RevokeKey", "GetWebhookMetrics"]);
    expect([...tested].sort()).toEqual(GatewayService.methods.map((m) => m.name).sort());
  });

  it("answers in proto field names, with 64-bit integers as strings and defaults present", async () => {
    const res = await rest("GET", "/v1/admin/external/keys");
    expect(res.json.keys).toEqual([
      expect.objectContaining({ id: "key_1", usage_count: "12", rate_limit_per_hour: "1000", create_time: "2026-01-02T03:04:05.678Z", metadata: { team: "a" }, canary: true }),
    ]);
    const flags = await rest("GET", "/v1/admin/flags");
    expect(flags.json).toEqual({ flags: [{ name: "webhooks_enabled", enabled: false, update_time: "2026-01-02T03:04:05.678Z", updated_by: "admin" }] });
  });
});

describe("interceptors", () => {
  it("run in Connect's order, pass context values to the handler and set response headers", async () => {
    order.length = 0;
    const res = await rest("GET", "/v1/external/me", undefined, { "x-api-key": "sk_test_caller" });
    expect(order).toEqual(["edge", "inner"]);
    expect(res.json.name).toBe("sk_test_caller");
    expect(res.headers.get("x-ratelimit-limit")).toBe("100");
    expect(lastCall("GetMe").context.requestHeader.get("x-api-key")).toBe("sk_test_caller");
  });

  it("put the headers of a thrown error on the REST error response", async () => {
    const res = await rest("GET", "/v1/external/me", undefined, { "x-test-limit": "exhausted" });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("42");
    expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(res.json).toEqual({ code: "RATE_LIMITED", message: "hourly limit reached", recovery: expect.any(String), request_id: res.headers.get("x-request-id") });
  });
});

describe("errors", () => {
  const shape = (res: { json: JsonObject; headers: Headers }, code: string) => {
    expect(res.json).toMatchObject({ code, message: expect.any(String), recovery: expect.any(String), request_id: res.headers.get("x-request-id") });
    expect(res.headers.get("content-type")).toBe("application/json");
  };

  it("404 for an unknown path", async () => {
    const res = await rest("GET", "/v1/nothing/here");
    expect(res.status).toBe(404);
    shape(res, "NOT_FOUND");
  });

  it.each([
    ["PUT", "/v1/external/me", "GET"],
    ["POST", "/v1/admin/flags", "GET"],
    ["DELETE", "/v1/admin/flags/webhooks_enabled", "PUT"],
    ["PUT", "/v1/external/webhooks/wh_1", "DELETE, GET, PATCH"],
    ["GET", "/v1/admin/webhooks/dead-letters:replay", "POST"],
  ])("405 for %s %s, with Allow: %s", async (method, path, allow) => {
    const res = await rest(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    shape(res, "METHOD_NOT_ALLOWED");
  });

  it("413 for a body over the limit, declared or streamed, and the handler is not called", async () => {
    const before = fake.calls.length;
    const declared = await rest("POST", "/v1/admin/events", { type: "t", data: { blob: "x".repeat(maxBodyBytes) } });
    expect(declared.status).toBe(413);
    shape(declared, "PAYLOAD_TOO_LARGE");
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/v1/admin/events`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      req.write(`{"type":"t","data":{"blob":"${"y".repeat(maxBodyBytes)}`);
      req.end(`"}}`);
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).code).toBe("PAYLOAD_TOO_LARGE");
    expect(fake.calls.length).toBe(before);
  });

  it("400 for malformed JSON, unknown fields and wrong types, naming the field", async () => {
    const malformed = await rest("POST", "/v1/admin/external/keys", '{"name": "ci",');
    expect(malformed.status).toBe(400);
    shape(malformed, "INVALID_ARGUMENT");
    expect((malformed.json.violations as JsonObject[])[0].field).toBe("body");

    const unknown = await rest("POST", "/v1/admin/external/keys", { nme: "ci", tier: "pro" });
    expect(unknown.status).toBe(400);
    expect(unknown.json.violations).toEqual([{ field: "nme", description: "unknown field" }]);

    const badInt = await rest("GET", "/v1/monitoring/external/metrics?window_seconds=abc");
    expect(badInt.json.violations).toEqual([{ field: "window_seconds", description: expect.stringContaining("abc") }]);
    const badBool = await rest("GET", "/v1/admin/external/keys?canary=maybe");
    expect(badBool.json.violations).toEqual([{ field: "canary", description: expect.stringContaining("maybe") }]);
    const badType = await rest("PATCH", "/v1/external/webhooks/wh_1", { event_types: "a.b" });
    expect(badType.json.violations).toEqual([{ field: "event_types", description: expect.any(String) }]);
    const unknownQuery = await rest("GET", "/v1/external/webhooks?page=2");
    expect(unknownQuery.json.violations).toEqual([{ field: "page", description: 'unknown field "page"' }]);
  });

  it("maps a handler's contract error to its status, and hides what an unexpected error says", async () => {
    const notFound = await rest("GET", "/v1/admin/external/keys/key_404");
    expect(notFound.status).toBe(404);
    expect(notFound.json).toMatchObject({ code: "NOT_FOUND", message: "no key key_404" });
    const internal = await rest("DELETE", "/v1/admin/external/keys/key_1");
    expect(internal.status).toBe(500);
    expect(internal.json).toMatchObject({ code: "INTERNAL", message: "internal error" });
    expect(JSON.stringify(internal.json)).not.toContain("hunter2");
  });

  it("leaves Connect procedure paths to Connect", async () => {
    const res = await fetch(`${base}/onering.v1.GatewayService/GetMe`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: "key_1" });
  });
});

describe("a client that goes away", () => {
  const path = "/v1/monitoring/external/api-keys";
  const inventoryCalls = () => fake.calls.filter((c) => c.method === "ListApiKeyInventory").length;

  it("over HTTP/1.1 aborts the handler's signal", async () => {
    abandoned.length = 0;
    const calls = inventoryCalls();
    const req = http.request(`${base}${path}`, { headers: { "x-test-hang": "1" } });
    req.on("error", () => undefined);
    req.end();
    await expect.poll(inventoryCalls).toBe(calls + 1);
    req.destroy();
    await expect.poll(() => abandoned.length).toBe(1);
  });

  // The client is watched from the signal's first read: one read after the client left is aborted all the same.
  it("over HTTP/1.1 aborts a signal first read after the client left", async () => {
    abandoned.length = 0;
    const calls = inventoryCalls();
    let letRead = () => {};
    readLate = new Promise((resolve) => (letRead = resolve));
    const req = http.request(`${base}${path}`, { headers: { "x-test-late": "1" } });
    req.on("error", () => undefined);
    req.end();
    await expect.poll(inventoryCalls).toBe(calls + 1);
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    letRead();
    await expect.poll(() => abandoned.length).toBe(1);
    expect(abandoned[0]).toMatchObject({ rawMessage: "the client went away" });
  });

  it("over HTTP/2 (RST_STREAM) aborts the handler's signal", async () => {
    abandoned.length = 0;
    const calls = inventoryCalls();
    const session = http2.connect(base);
    const req = session.request({ ":method": "GET", ":path": path, "x-test-hang": "1" });
    req.on("error", () => undefined);
    await expect.poll(inventoryCalls).toBe(calls + 1);
    req.close(http2.constants.NGHTTP2_CANCEL);
    await expect.poll(() => abandoned.length).toBe(1);
    session.close();
  });
});

describe("request ids", () => {
  it("keep a valid caller id, replace an invalid one, and reach the handler", async () => {
    const kept = await rest("GET", "/v1/external/me", undefined, { "x-request-id": "req.Abc-123_x" });
    expect(kept.headers.get("x-request-id")).toBe("req.Abc-123_x");
    expect(kept.json.tier).toBe("req.Abc-123_x");
    for (const bad of ["has space", "x".repeat(129), "semi;colon"]) {
      const replaced = await rest("GET", "/v1/external/me", undefined, { "x-request-id": bad });
      expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(replaced.json.tier).toBe(replaced.headers.get("x-request-id"));
    }
  });

  it("are on Connect and gRPC responses and on errors", async () => {
    const connect = await fetch(`${base}/onering.v1.GatewayService/GetMe`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "conn-1" }, body: "{}" });
    expect(connect.headers.get("x-request-id")).toBe("conn-1");
    let grpcHeader: string | null = null;
    await createClient(GatewayService, createGrpcTransport({ baseUrl: base })).getMe({}, { headers: { "x-request-id": "grpc-1" }, onHeader: (h) => (grpcHeader = h.get("x-request-id")) });
    expect(grpcHeader).toBe("grpc-1");
    expect((await rest("GET", "/nope", undefined, { "x-request-id": "err-1" })).json.request_id).toBe("err-1");
  });

  it("travel on internal calls made while serving the request", async () => {
    internalIds.length = 0;
    const res = await rest("GET", "/v1/monitoring/webhooks/metrics", undefined, { "x-request-id": "trace-42" });
    expect(res.status).toBe(200);
    expect(internalIds).toEqual(["trace-42"]);
  });
});

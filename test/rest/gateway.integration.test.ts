// The real gateway process: REST errors that come from the edge and the
// transcoder, the OpenAPI document, request ids in headers, bodies and logs,
// and the same reason for REST and Connect callers.
import { Validator } from "@seriousme/openapi-schema-validator";
import { createClient, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { reasonOf, reasons } from "../../services/shared/errors.js";
import { startMesh, type Mesh } from "../harness/mesh.js";

const maxBodyBytes = 4096;
let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh({ only: ["gateway"], env: { ONERING_MAX_BODY_BYTES: String(maxBodyBytes), LOG_LEVEL: "debug" } });
});
afterAll(() => mesh?.stop());

async function rest(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, { method, body, headers: { "content-type": "application/json", ...headers } });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe("gateway REST edge", () => {
  it("serves a valid OpenAPI 3.1 document", async () => {
    const res = await fetch(`${mesh.gatewayUrl}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const result = await new Validator().validate((await res.json()) as never);
    expect(result.errors ?? []).toEqual([]);
  });

  it("answers unknown paths, wrong methods, big and malformed bodies in the one error shape", async () => {
    const notFound = await rest("GET", "/v1/unknown", undefined, { "x-request-id": "it-404" });
    expect([notFound.status, notFound.json.code, notFound.json.request_id]).toEqual([404, "NOT_FOUND", "it-404"]);

    const wrongMethod = await rest("PUT", "/v1/external/me");
    expect([wrongMethod.status, wrongMethod.json.code, wrongMethod.headers.get("allow")]).toEqual([405, "METHOD_NOT_ALLOWED", "GET"]);

    const big = await rest("POST", "/v1/admin/events", JSON.stringify({ type: "t", data: { blob: "x".repeat(maxBodyBytes) } }));
    expect([big.status, big.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);

    const malformed = await rest("POST", "/v1/admin/external/keys", "{not json");
    expect([malformed.status, malformed.json.code]).toEqual([400, "INVALID_ARGUMENT"]);

    const unknownField = await rest("POST", "/v1/admin/external/keys", JSON.stringify({ name: "a", tierr: "pro" }));
    expect(unknownField.json.violations).toEqual([{ field: "tierr", description: "unknown field" }]);

    for (const res of [notFound, wrongMethod, big, malformed, unknownField]) {
      expect(Object.keys(res.json).sort()).toEqual(expect.arrayContaining(["code", "message", "recovery", "request_id"]));
      expect(res.json.request_id).toBe(res.headers.get("x-request-id"));
    }
  });

  it.each([
    ["text/plain", '{"name":"a"}'],
    ["text/plain;charset=UTF-8", '{"name":"a"}'],
    ["application/x-www-form-urlencoded", "name=a&tier=pro"],
    ["multipart/form-data; boundary=x", '--x\r\ncontent-disposition: form-data; name="name"\r\n\r\na\r\n--x--\r\n'],
    ["application/xml", "<key><name>a</name></key>"],
    ["application/grpc", '{"name":"a"}'],
    ["application/json; charset=latin1", '{"name":"a"}'],
    ["application/jsonx", '{"name":"a"}'],
  ])("refuses a %s body with 415 in the one error shape", async (type, body) => {
    const res = await rest("POST", "/v1/admin/external/keys", body, { authorization: `Bearer ${mesh.adminKey}`, "content-type": type });
    expect([res.status, res.json.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    expect(res.json).toMatchObject({ message: expect.any(String), recovery: expect.stringContaining("application/json"), request_id: res.headers.get("x-request-id") });
  });

  it("refuses a body sent without a content type, and needs none without a body", async () => {
    const admin = { authorization: `Bearer ${mesh.adminKey}` };
    // fetch labels a string body text/plain; bytes go out with no Content-Type at all.
    const untyped = await fetch(`${mesh.gatewayUrl}/v1/admin/flags/webhooks_delivery_enabled`, { method: "PUT", headers: admin, body: new TextEncoder().encode('{"enabled":true}') });
    expect([untyped.status, ((await untyped.json()) as { code: string }).code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    // Past the type check, to the handler, which wants `enabled`.
    const empty = await fetch(`${mesh.gatewayUrl}/v1/admin/flags/webhooks_delivery_enabled`, { method: "PUT", headers: admin });
    expect([empty.status, await empty.json()]).toEqual([400, expect.objectContaining({ code: "INVALID_ARGUMENT", violations: [{ field: "enabled", description: expect.any(String) }] })]);
  });

  it.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", 'application/json; charset="utf-8"'])("takes a %s body", async (type) => {
    const res = await rest("PUT", "/v1/admin/flags/webhooks_delivery_enabled", '{"enabled":true}', { authorization: `Bearer ${mesh.adminKey}`, "content-type": type });
    expect([res.status, res.json]).toEqual([200, { flag: expect.objectContaining({ name: "webhooks_delivery_enabled", enabled: true }) }]);
  });

  it("gives REST and Connect callers the same reason for the same call", async () => {
    const viaRest = await rest("GET", "/v1/external/me");
    let viaConnect: ConnectError | undefined;
    await createClient(GatewayService, createConnectTransport({ baseUrl: mesh.gatewayUrl, httpVersion: "1.1" }))
      .getMe({})
      .catch((err: unknown) => (viaConnect = ConnectError.from(err)));
    expect(viaConnect).toBeDefined();
    const reason = reasonOf(viaConnect!);
    expect(viaRest.json.code).toBe(reason);
    expect(viaRest.status).toBe(reasons[reason].http);
  });

  it("puts the request id on Connect responses and in the log lines of the request", async () => {
    const connect = await fetch(`${mesh.gatewayUrl}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "it-connect" }, body: "{}" });
    expect(connect.headers.get("x-request-id")).toBe("it-connect");

    await rest("GET", "/v1/nowhere", undefined, { "x-request-id": "it-logged" });
    const logs = mesh.processes.get("gateway")!.logs;
    const deadline = Date.now() + 10_000;
    while (!logs.some((l) => l.includes('"request_id":"it-logged"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const line = JSON.parse(logs.find((l) => l.includes('"request_id":"it-logged"'))!);
    expect(line).toMatchObject({ request_id: "it-logged", code: "NOT_FOUND", status: 404 });
  });
});

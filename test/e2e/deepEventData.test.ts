// Event data nested deeper than 32 levels is a 400 INVALID_ARGUMENT naming
// `data` at every depth, over REST, gRPC, Connect and gRPC-Web through the real
// gateway. Issue 18: from 50 levels the gateway → WebhookService hop's decoder
// failed (a 500 with the decoder's words); from 99 the REST decoder's words came
// back in a 400; Connect and gRPC-Web callers got the words as INTERNAL.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { PublishEventRequestSchema } from "../../gen/onering/v1/webhook_pb.js";
import { reasonOf, violationsOf } from "../../services/shared/errors.js";
import { startMesh, type Mesh } from "../harness/mesh.js";

let mesh: Mesh;

beforeAll(async () => {
  mesh = await startMesh({ only: ["gateway", "key", "webhook"] });
});
afterAll(async () => {
  await mesh?.stop();
});

/** `levels` objects nested inside one another as JSON text ({"a":1} is one level); text, as JSON.stringify runs out of stack first. */
const nestedJson = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

const tooDeep = [{ field: "data", description: "must not nest objects and arrays more than 32 levels deep" }];
// What a decoder says when it gives up; it must never reach a caller.
const decoderWords = /recursion|decode|binary|protobuf/i;

async function publishRest(levels: number) {
  const res = await fetch(`${mesh.gatewayUrl}/v1/admin/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${mesh.adminKey}`, "content-type": "application/json" },
    body: `{"type":"deep.rest","data":${nestedJson(levels)}}`,
  });
  return { status: res.status, text: await res.text() };
}

it.each([10, 31, 32])("REST: data %i levels deep is published", async (levels) => {
  const { status, text } = await publishRest(levels);
  expect(status).toBe(200);
  expect(JSON.parse(text).event.data).toEqual(JSON.parse(nestedJson(levels)));
});

it.each([33, 49, 50, 99, 100, 150, 10_000])("REST: data %i levels deep is a 400 naming data", async (levels) => {
  const { status, text } = await publishRest(levels);
  expect(status).toBe(400);
  expect(JSON.parse(text)).toMatchObject({ code: "INVALID_ARGUMENT", violations: tooDeep });
  expect(text).not.toMatch(decoderWords);
});

const transports: Record<string, (baseUrl: string) => Transport> = {
  gRPC: (baseUrl) => createGrpcTransport({ baseUrl }),
  "gRPC gzip": (baseUrl) => createGrpcTransport({ baseUrl, sendCompression: compressionGzip }),
  "Connect JSON": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  "Connect binary": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  "Connect binary gzip over HTTP/2": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, sendCompression: compressionGzip }),
  "gRPC-Web binary": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  "gRPC-Web JSON": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
};

describe.each(Object.keys(transports))("%s", (name) => {
  it.each([32, 33, 50, 99, 150])("data %i levels deep is published up to 32, else INVALID_ARGUMENT naming data", async (levels) => {
    const client = createClient(GatewayService, transports[name]!(mesh.gatewayUrl));
    const request = create(PublishEventRequestSchema, { type: "deep.rpc", data: JSON.parse(nestedJson(levels)) as JsonObject });
    const outcome = await client.publishEvent(request, { headers: { authorization: `Bearer ${mesh.adminKey}` } }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    if (levels <= 32) return expect(outcome).toBeUndefined();
    expect(outcome && reasonOf(outcome)).toBe("INVALID_ARGUMENT");
    expect(violationsOf(outcome!)).toEqual(tooDeep);
    expect(outcome!.rawMessage).not.toMatch(decoderWords);
  });
});

it("a deep request without a key is refused for its depth before authentication", async () => {
  const client = createClient(GatewayService, transports["Connect binary"]!(mesh.gatewayUrl));
  const request = create(PublishEventRequestSchema, { type: "deep.rpc", data: JSON.parse(nestedJson(60)) as JsonObject });
  const outcome = await client.publishEvent(request).catch((e: unknown) => ConnectError.from(e));
  expect(outcome instanceof ConnectError && reasonOf(outcome)).toBe("INVALID_ARGUMENT");
});

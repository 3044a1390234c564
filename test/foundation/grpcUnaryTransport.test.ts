// The internal client's unary fast path against grpc-js, another gRPC
// implementation, as the server: messages, headers and trailers both ways,
// status errors, deadlines, the caller's cancel, an unreachable or vanishing
// server, and streams, which still go through Connect's transport.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../gen/health/v1/health_pb.js";
import { causedBy, createInternalClient } from "../../services/shared/internalClient.js";
import { freePort } from "../harness/mesh.js";

const token = "t".repeat(32);
const received: { metadata: grpc.Metadata; deadline: grpc.Deadline }[] = [];
const cancelled: string[] = [];

const serializers = {
  requestSerialize: (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
  requestDeserialize: (b: Buffer) => fromBinary(HealthCheckRequestSchema, b),
  responseSerialize: (m: HealthCheckResponse) => Buffer.from(toBinary(HealthCheckResponseSchema, m)),
  responseDeserialize: (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
};
const healthDefinition: grpc.ServiceDefinition = {
  Check: { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false, ...serializers },
  Watch: { path: "/grpc.health.v1.Health/Watch", requestStream: false, responseStream: true, ...serializers },
};

// Check answers by the requested service name: "" serves, "missing" is NOT_FOUND
// with metadata, "slow" never answers (until cancelled).
const check: grpc.handleUnaryCall<HealthCheckRequest, HealthCheckResponse> = (call, callback) => {
  received.push({ metadata: call.metadata, deadline: call.getDeadline() });
  if (call.request.service === "slow") {
    call.on("cancelled", () => cancelled.push("slow"));
    return;
  }
  if (call.request.service === "missing") {
    const trailer = new grpc.Metadata();
    trailer.set("x-reason", "no such service");
    return callback({ code: grpc.status.NOT_FOUND, details: "unknown service missing", metadata: trailer });
  }
  const header = new grpc.Metadata();
  header.set("x-served-by", "grpc-js");
  call.sendMetadata(header);
  const trailer = new grpc.Metadata();
  trailer.set("x-trailer", "done");
  callback(null, create(HealthCheckResponseSchema, { status: Status.SERVING }), trailer);
};
const watch: grpc.handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse> = (call) => {
  call.write(create(HealthCheckResponseSchema, { status: Status.SERVING }));
  call.write(create(HealthCheckResponseSchema, { status: Status.NOT_SERVING }));
  call.end();
};

async function startServer(port = 0): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(healthDefinition, { Check: check, Watch: watch });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

let server: grpc.Server;
let baseUrl: string;
beforeAll(async () => {
  const started = await startServer();
  server = started.server;
  baseUrl = `http://127.0.0.1:${started.port}`;
});
afterAll(() => server?.forceShutdown());

const client = (timeoutMs?: number) => createInternalClient(Health, { baseUrl, internalToken: token, timeoutMs });
const failure = (call: Promise<unknown>) => call.then(() => undefined, (e: unknown) => ConnectError.from(e));

describe("internal client, unary fast path", () => {
  it("sends the message with the internal token, the request id and the caller's headers; returns the message, headers and trailers", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const served = new Headers({ "x-request-id": "req_fast_1" });
    const res = await client().check({ service: "" }, { ...causedBy(served, { "x-owner": "key_1" }), onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    expect(res.status).toBe(Status.SERVING);
    expect(header?.get("x-served-by")).toBe("grpc-js");
    expect(trailer?.get("x-trailer")).toBe("done");
    const { metadata } = received.at(-1)!;
    expect(metadata.get("authorization")).toEqual([`Bearer ${token}`]);
    expect(metadata.get("x-request-id")).toEqual(["req_fast_1"]);
    expect(metadata.get("x-owner")).toEqual(["key_1"]);
  });

  it("turns a status error into a ConnectError with its code, message and metadata", async () => {
    const err = await failure(client().check({ service: "missing" }));
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.rawMessage).toBe("unknown service missing");
    expect(err?.metadata.get("x-reason")).toBe("no such service");
  });

  it("sends its deadline as grpc-timeout, and fails with DEADLINE_EXCEEDED when it passes, cancelling the call", async () => {
    await client(4000).check({ service: "" });
    const { deadline } = received.at(-1)!;
    const remaining = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    expect(remaining).toBeGreaterThan(3000);
    expect(remaining).toBeLessThanOrEqual(4000);
    cancelled.length = 0;
    const err = await failure(client().check({ service: "slow" }, { timeoutMs: 150 }));
    expect(err?.code).toBe(Code.DeadlineExceeded);
    await expect.poll(() => cancelled).toEqual(["slow"]);
  });

  it("fails with CANCELED when the caller aborts, and the server sees the cancel", async () => {
    cancelled.length = 0;
    const controller = new AbortController();
    const call = failure(client().check({ service: "slow" }, { signal: controller.signal }));
    await expect.poll(() => received.at(-1)?.metadata).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect((await call)?.code).toBe(Code.Canceled);
    await expect.poll(() => cancelled).toEqual(["slow"]);
  });

  it("is UNAVAILABLE when nothing listens, and when the server goes away mid-call", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const refused = await failure(createInternalClient(Health, { baseUrl: closed, internalToken: token }).check({}));
    expect(refused?.code).toBe(Code.Unavailable);

    const doomed = await startServer();
    const call = failure(createInternalClient(Health, { baseUrl: `http://127.0.0.1:${doomed.port}`, internalToken: token }).check({ service: "slow" }));
    await new Promise((r) => setTimeout(r, 200));
    doomed.server.forceShutdown();
    expect((await call)?.code).toBe(Code.Unavailable);
  });

  it("carries server streams through Connect's transport on the same client", async () => {
    const statuses: Status[] = [];
    for await (const update of client().watch({ service: "" })) statuses.push(update.status);
    expect(statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
  });
});

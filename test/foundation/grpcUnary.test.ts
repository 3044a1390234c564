// The gRPC unary fast path behind serve(), against a fake KeyService: what a
// Connect client and grpc-js (another implementation) see is what Connect's
// own handler gives them (messages, headers, trailers, codes, details,
// deadlines, cancellation, size limits), broken framing gets a status instead
// of a crash, and whatever the fast path does not take still reaches Connect.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { KeyService, VerifyKeyRequestSchema, VerifyKeyResponseSchema, type VerifyKeyResponse } from "../../gen/onering/v1/key_pb.js";
import { reasonOf, meshError } from "../../services/shared/errors.js";
import { createGrpcUnaryHandler } from "../../services/shared/grpcUnary.js";
import { implementation } from "../../services/shared/implementation.js";
import { createLogger } from "../../services/shared/logger.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { serve, type RunningServer } from "../../services/shared/server.js";

const maxBodyBytes = 4096;
const seen: { protocol: string; timeoutMs: number | undefined; order: string[] }[] = [];
const aborted: unknown[] = [];

const tagging: Interceptor = (next) => async (req) => {
  const res = await next(req);
  res.header.set("x-tagged", "outer");
  return res;
};

const keys = implementation(KeyService, {
  verifyKey: (req, ctx) => {
    seen.push({ protocol: ctx.protocolName, timeoutMs: ctx.timeoutMs(), order: [ctx.requestHeader.get("x-probe") ?? ""] });
    if (req.secret === "limited") {
      ctx.responseHeader.set("x-set-before-failing", "yes");
      const err = meshError("RATE_LIMITED", "hourly limit of 10 requests reached");
      err.metadata.set("retry-after", "42");
      throw err;
    }
    if (req.secret === "broken") throw new Error("postgres://user:hunter2@db failed");
    ctx.responseTrailer.set("x-served-by", "fake");
    return { key: { id: `key_for_${req.secret}` } };
  },
  // Waits until its signal aborts and reports why.
  getKey: (_req, ctx) =>
    new Promise((_, reject) => {
      ctx.signal.addEventListener("abort", () => {
        aborted.push(ctx.signal.reason);
        reject(ctx.signal.reason);
      });
    }),
});

let server: RunningServer;
let base: string;
beforeAll(async () => {
  server = await serve({
    processName: "grpc-unary-test",
    config: { host: "127.0.0.1", port: 0, maxBodyBytes },
    logger: createLogger("grpc-unary-test", "silent"),
    metrics: new ProcessMetrics("grpc-unary-test"),
    implementations: [keys],
    interceptors: [tagging],
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.close());

const connectClient = () => createClient(KeyService, createGrpcTransport({ baseUrl: base }));

/** One raw HTTP/2 request; resolves with the response headers, body and trailers. */
function rawCall(path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}) {
  return new Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const session = http2.connect(base);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (responseHeaders = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      session.close();
      resolve({ headers: responseHeaders, body: Buffer.concat(chunks), trailers });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const framed = Buffer.alloc(5 + bytes.length);
  framed[0] = flags;
  framed.writeUInt32BE(bytes.length, 1);
  framed.set(bytes, 5);
  return framed;
}

describe("gRPC unary fast path", () => {
  it("answers a Connect gRPC client with the message, the interceptors' headers and the implementation's trailers", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const res = await connectClient().verifyKey({ secret: "k1" }, { onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t), headers: { "x-probe": "p1" } });
    expect(res.key?.id).toBe("key_for_k1");
    expect(header?.get("x-tagged")).toBe("outer");
    expect(header?.get("content-type")).toBe("application/grpc+proto");
    expect(trailer?.get("x-served-by")).toBe("fake");
    expect(seen.at(-1)).toMatchObject({ protocol: "grpc", order: ["p1"] });
  });

  it("is taken for binary, uncompressed HTTP/2 calls of implemented unary methods, and for nothing else", async () => {
    const handler = createGrpcUnaryHandler({ implementations: [keys], interceptors: [], readMaxBytes: maxBodyBytes });
    const fallback = http2.createServer((req, res) => {
      if (handler(req, res)) return;
      res.writeHead(200, { "content-type": "application/grpc", "grpc-status": String(Code.Unimplemented), "grpc-message": "fallback" });
      res.end();
    });
    await new Promise<void>((r) => fallback.listen(0, "127.0.0.1", r));
    const port = (fallback.address() as { port: number }).port;
    const call = (path: string, headers: http2.OutgoingHttpHeaders) =>
      new Promise<string>((resolve, reject) => {
        const session = http2.connect(`http://127.0.0.1:${port}`);
        const req = session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
        let status = "";
        req.on("response", (h) => (status = String(h["grpc-status"] ?? status)));
        req.on("trailers", (t) => (status = String(t["grpc-status"])));
        req.on("data", () => {});
        req.on("end", () => {
          session.close();
          resolve(status);
        });
        req.on("error", reject);
        req.end(envelope(toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { secret: "k" }))));
      });
    try {
      const taken = String(Code.Unimplemented);
      expect(await call("/onering.v1.KeyService/VerifyKey", { "content-type": "application/grpc" })).toBe("0");
      expect(await call("/onering.v1.KeyService/VerifyKey", { "content-type": "application/grpc+proto", "grpc-encoding": "identity" })).toBe("0");
      expect(await call("/onering.v1.KeyService/VerifyKey", { "content-type": "application/grpc+json" })).toBe(taken);
      expect(await call("/onering.v1.KeyService/VerifyKey", { "content-type": "application/grpc", "grpc-encoding": "gzip" })).toBe(taken);
      expect(await call("/onering.v1.KeyService/CreateKey", { "content-type": "application/grpc" })).toBe(taken);
      expect(await call("/onering.v1.KeyService/VerifyKey", { "content-type": "application/grpc-web" })).toBe(taken);
    } finally {
      await new Promise((r) => fallback.close(r));
    }
  });

  it("gives grpc-js the message and, for a contract error, its code, message, ErrorInfo and metadata", async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const call = (key: string) =>
      new Promise<{ value?: VerifyKeyResponse; err?: grpc.ServiceError }>((resolve) =>
        client.makeUnaryRequest(
          "/onering.v1.KeyService/VerifyKey",
          (m: { secret: string }) => Buffer.from(toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, m))),
          (b: Buffer) => fromBinary(VerifyKeyResponseSchema, b),
          { secret: key },
          (err, value) => resolve({ err: err ?? undefined, value }),
        ),
      );
    try {
      expect((await call("k2")).value?.key?.id).toBe("key_for_k2");
      const { err } = await call("limited");
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err?.details).toBe("hourly limit of 10 requests reached");
      expect(err?.metadata.get("retry-after")).toEqual(["42"]);
      expect(err?.metadata.get("grpc-status-details-bin")).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  it("gives a Connect client the contract reason from the error details, and an unexpected error as a bare INTERNAL", async () => {
    const limited = await connectClient().verifyKey({ secret: "limited" }).catch((e: unknown) => ConnectError.from(e));
    expect(limited).toBeInstanceOf(ConnectError);
    expect(reasonOf(limited as ConnectError)).toBe("RATE_LIMITED");
    expect((limited as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
    // Headers the implementation set before it failed still go out, as Connect's own handler sends them.
    expect((limited as ConnectError).metadata.get("x-set-before-failing")).toBe("yes");
    const broken = ConnectError.from(await connectClient().verifyKey({ secret: "broken" }).catch((e: unknown) => e));
    expect(broken.code).toBe(Code.Internal);
    expect(broken.rawMessage).toBe("internal error");
  });

  it("passes the caller's deadline to the implementation and aborts its signal when it passes", async () => {
    await connectClient().verifyKey({ secret: "k3" }, { timeoutMs: 3000 });
    const { timeoutMs } = seen.at(-1)!;
    expect(timeoutMs).toBeGreaterThan(2000);
    expect(timeoutMs).toBeLessThanOrEqual(3000);
    aborted.length = 0;
    const err = ConnectError.from(await connectClient().getKey({ id: "key_1" }, { timeoutMs: 100 }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.DeadlineExceeded);
    await expect.poll(() => aborted.length).toBe(1);
    // The client's deadline also cancels the stream; on a busy machine its
    // RST_STREAM can reach the server before the server's own timer fires.
    expect([Code.DeadlineExceeded, Code.Canceled]).toContain(ConnectError.from(aborted[0]).code);
  });

  it("aborts the implementation's signal when the client cancels", async () => {
    aborted.length = 0;
    const controller = new AbortController();
    const call = connectClient().getKey({ id: "key_1" }, { signal: controller.signal }).catch((e: unknown) => ConnectError.from(e));
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    expect((await call as ConnectError).code).toBe(Code.Canceled);
    await expect.poll(() => aborted.length).toBe(1);
    expect(ConnectError.from(aborted[0]).code).toBe(Code.Canceled);
  });

  it("refuses a message over the size limit with RESOURCE_EXHAUSTED", async () => {
    const err = ConnectError.from(await connectClient().verifyKey({ secret: "x".repeat(maxBodyBytes + 1) }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  it("answers broken framing with a gRPC status, and keeps serving", async () => {
    const path = "/onering.v1.KeyService/VerifyKey";
    const valid = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { secret: "k" }));
    const cases: [Buffer, Code][] = [
      [Buffer.alloc(0), Code.Unimplemented],
      [Buffer.from([0, 0, 0]), Code.InvalidArgument],
      [envelope(valid).subarray(0, 7), Code.InvalidArgument],
      [Buffer.concat([envelope(valid), envelope(valid)]), Code.Unimplemented],
      [envelope(valid, 1), Code.Internal],
      [envelope(Buffer.from([0xff, 0xff, 0xff])), Code.Internal],
    ];
    for (const [body, code] of cases) {
      const res = await rawCall(path, body);
      expect(res.headers[":status"]).toBe(200);
      expect(res.trailers["grpc-status"]).toBe(String(code));
      expect(res.body).toHaveLength(0);
    }
    const timeout = await rawCall(path, envelope(valid), { "grpc-timeout": "soon" });
    expect(timeout.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect((await connectClient().verifyKey({ secret: "k4" })).key?.id).toBe("key_for_k4");
  });

  it("leaves compressed calls and server streams to Connect", async () => {
    const compressed = createClient(KeyService, createGrpcTransport({ baseUrl: base, sendCompression: compressionGzip, compressMinBytes: 0 }));
    expect((await compressed.verifyKey({ secret: "k6" })).key?.id).toBe("key_for_k6");
    const health = createClient(Health, createGrpcTransport({ baseUrl: base }));
    const controller = new AbortController();
    const first = await health.watch({ service: "" }, { signal: controller.signal })[Symbol.asyncIterator]().next();
    controller.abort();
    expect(first.value?.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});

// A REST call that awaits nothing (the gateway's GetMe with a cached key) is
// answered within the turn that read its request: no promise is settled on
// the way, so no microtask and none of AsyncLocalStorage's per-promise work.
// Its head is written before handle() returns; its bytes leave right after
// the turn, together with the turn's other responses (endTogether.ts).
// Calls that do await are answered when they settle, in the same shape.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService, GetMeRequestSchema } from "../../gen/onering/v1/gateway_pb.js";
import { create } from "@bufbuild/protobuf";
import { meshError } from "../../services/shared/errors.js";
import { implementation } from "../../services/shared/implementation.js";
import { invokeUnary } from "../../services/shared/invokeUnary.js";
import { createLogger } from "../../services/shared/logger.js";
import { HeaderMap } from "../../services/shared/headerMap.js";
import { createTranscoder } from "../../services/shared/transcoding/transcoder.js";

const impl = {
  getMe: () => ({ id: "key_1", name: "ci", tier: "pro" }),
  getKey: () => {
    throw meshError("NOT_FOUND", "no key key_404");
  },
  listFlags: async () => ({ flags: [{ name: "webhooks_enabled", enabled: true }] }),
} as Partial<ServiceImpl<typeof GatewayService>>;

const init = () => ({ protocolName: "rest", requestMethod: "GET", url: "/v1/external/me", requestHeader: new HeaderMap() });

describe("invokeUnary without interceptors", () => {
  it("returns a handler's immediate answer as a value and ends the call's signal", () => {
    let signal: AbortSignal | undefined;
    const getMe = (_req: unknown, ctx: HandlerContext) => {
      signal = ctx.signal;
      return { id: "key_1" };
    };
    const result = invokeUnary(GatewayService.method.getMe, getMe, [], create(GetMeRequestSchema), init());
    expect(result).not.toBeInstanceOf(Promise);
    expect((result as Awaited<typeof result>).message.id).toBe("key_1");
    expect(signal?.aborted).toBe(true);
    expect(ConnectError.from(signal?.reason).code).toBe(Code.Canceled);
  });

  it("throws a handler's synchronous error at once", () => {
    const fail = () => {
      throw meshError("NOT_FOUND", "gone");
    };
    expect(() => invokeUnary(GatewayService.method.getMe, fail, [], create(GetMeRequestSchema), init())).toThrow("gone");
  });

  it("returns a promise when the handler does", async () => {
    const result = invokeUnary(GatewayService.method.getMe, async () => ({ id: "key_2" }), [], create(GetMeRequestSchema), init());
    expect(result).toBeInstanceOf(Promise);
    expect((await result).message.id).toBe("key_2");
  });
});

describe("the transcoder with a synchronous invoke", () => {
  // Whether each response had its head written by the time handle() returned, and whether it had ended then.
  const answeredInTurn: boolean[] = [];
  const endedInTurn: boolean[] = [];
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const rest = createTranscoder({
      services: [implementation(GatewayService, impl as ServiceImpl<typeof GatewayService>)],
      invoke: (method, handler, input, callInit) => invokeUnary(method, handler, [], input, callInit),
      maxBodyBytes: 1024,
      logger: createLogger("sync-test", "silent"),
    });
    // As serve() does, a caller may hand over the id it accepted already.
    server = http.createServer((req, res) => {
      rest.handle(req, res, req.headers["x-test-handed"] === undefined ? undefined : "handed-1");
      answeredInTurn.push(res.headersSent);
      endedInTurn.push(res.writableEnded);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const get = async (path: string, headers: Record<string, string> = {}) => {
    answeredInTurn.length = 0;
    endedInTurn.length = 0;
    const res = await fetch(`${base}${path}`, { headers });
    const json = (await res.json()) as Record<string, unknown>;
    return { status: res.status, requestId: res.headers.get("x-request-id"), json, answeredInTurn: answeredInTurn[0], endedInTurn: endedInTurn[0] };
  };

  it("answers a call that awaits nothing before handle() returns, and ends it after the turn", async () => {
    expect(await get("/v1/external/me")).toMatchObject({ status: 200, json: { id: "key_1", tier: "pro" }, answeredInTurn: true, endedInTurn: false });
  });

  it("answers a synchronous refusal in the contract's shape, also within the turn", async () => {
    expect(await get("/v1/admin/external/keys/key_404")).toMatchObject({ status: 404, json: { code: "NOT_FOUND", message: "no key key_404" }, answeredInTurn: true });
  });

  it("writes the request id it is handed, and accepts one itself when handed none", async () => {
    expect(await get("/v1/admin/external/keys/key_404", { "x-test-handed": "1", "x-request-id": "ignored-here" })).toMatchObject({ requestId: "handed-1", json: { request_id: "handed-1" } });
    expect(await get("/v1/external/me", { "x-request-id": "own.id-1" })).toMatchObject({ requestId: "own.id-1" });
    expect((await get("/v1/external/me", { "x-request-id": "bad id" })).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers a call that awaits once it settles", async () => {
    expect(await get("/v1/admin/flags")).toMatchObject({ status: 200, json: { flags: [{ name: "webhooks_enabled", enabled: true }] }, answeredInTurn: false });
  });
});

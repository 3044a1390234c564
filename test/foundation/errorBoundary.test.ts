// The error boundary every service puts first among its interceptors, behind
// the real serve() bootstrap and REST transcoder: over REST, Connect and gRPC an
// unexpected error is one log line with the request id and no secret, and the
// client sees a bare INTERNAL; a lost database or NATS connection is
// UNAVAILABLE (with Retry-After: 1 on REST); a contract error passes as it was.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { DrizzleQueryError } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { errorBoundary } from "../../services/shared/errorBoundary.js";
import { meshError, reasonOf } from "../../services/shared/errors.js";
import { implementation } from "../../services/shared/implementation.js";
import { createLogger } from "../../services/shared/logger.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { serve, type RunningServer } from "../../services/shared/server.js";
import { createTranscoder } from "../../services/shared/transcoding/transcoder.js";
import { fakeGateway } from "../rest/fakeGateway.js";

// What a failed insert of a key or a webhook carries: drizzle puts the bound
// parameters into its message, Postgres the refused row into `detail`.
const apiKey = "sk_live_0123456789abcdefghijABCDEFGHIJ01_a1B2c3";
const signingSecret = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWJ5dGVzLTAxMjM0NQ==";
const dbPassword = "hunter2";
const secrets = [apiKey, signingSecret, dbPassword, "a1B2c3"];

function failedInsert(): Error {
  const refused = Object.assign(new pg.DatabaseError('new row for relation "api_keys" violates check constraint "api_keys_check"', 0, "error"), {
    code: "23514",
    detail: `Failing row contains (key_1, ${apiKey}, ${signingSecret}).`,
  });
  return new DrizzleQueryError('insert into "keys"."api_keys" ("id", "secret", "signing_secret") values ($1, $2, $3)', ["key_1", apiKey, signingSecret], refused);
}

const lines: string[] = [];
let server: RunningServer;
let base: string;
const fake = fakeGateway({
  revokeKey: () => {
    throw failedInsert();
  },
  updateKey: () => {
    throw new TypeError(`cannot connect to postgres://onering:${dbPassword}@db:5432/onering with ${apiKey}`);
  },
  getKey: () => {
    throw new DrizzleQueryError('select "id" from "keys"."api_keys" where "id" = $1', ["key_1"], new Error("Connection terminated unexpectedly"));
  },
  // An internal call's UNAVAILABLE as the gateway passes it on: no headers of its own.
  listKeys: () => {
    throw new ConnectError("KeyService is unreachable", Code.Unavailable);
  },
  getWebhook: () => {
    throw meshError("NOT_FOUND", "no webhook wh_1");
  },
});

beforeAll(async () => {
  const logger = createLogger("boundary-test", "debug", { write: (line: string) => void lines.push(line) });
  const metrics = new ProcessMetrics("boundary-test");
  const services = [implementation(GatewayService, fake.impl)];
  const interceptors = [errorBoundary(logger)];
  const rest = createTranscoder({ services, interceptors: [metrics.interceptor(), ...interceptors], maxBodyBytes: 4096, logger });
  server = await serve({ processName: "boundary-test", config: { host: "127.0.0.1", port: 0, maxBodyBytes: 4096 }, logger, metrics, implementations: services, interceptors, httpHandler: rest.handle });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.close());

const linesOf = (requestId: string) => lines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.request_id === requestId);

async function viaRest(method: string, path: string, requestId: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "x-request-id": requestId, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const transports = {
  connect: () => createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
  grpc: () => createGrpcTransport({ baseUrl: base }),
};

type Call = (client: Client<typeof GatewayService>, options: { headers: Record<string, string> }) => Promise<unknown>;

async function viaRpc(protocol: keyof typeof transports, call: Call, requestId: string) {
  return ConnectError.from(await call(createClient(GatewayService, transports[protocol]()), { headers: { "x-request-id": requestId } }).then(() => expect.unreachable("should have failed"), (e: unknown) => e));
}

describe("an unexpected error", () => {
  const expectOneSafeLine = (requestId: string, method: string) => {
    const logged = linesOf(requestId);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, msg: "unexpected error", method, request_id: requestId, error: { type: expect.any(String), stack: expect.stringContaining(" at ") } });
    for (const secret of secrets) expect(JSON.stringify(logged[0])).not.toContain(secret);
  };

  it("over REST: one log line naming the query, not its parameters or the row; the client gets a bare INTERNAL", async () => {
    const res = await viaRest("DELETE", "/v1/admin/external/keys/key_1", "boundary-rest");
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ code: "INTERNAL", message: "internal error", recovery: expect.any(String), request_id: "boundary-rest" });
    expectOneSafeLine("boundary-rest", "RevokeKey");
    const [line] = linesOf("boundary-rest");
    expect(line!.error).toMatchObject({ message: expect.stringContaining('insert into "keys"."api_keys"'), cause: { code: "23514", message: expect.stringContaining("api_keys_check") } });
  });

  it("over REST: a message quoting a URL password or a key is masked", async () => {
    const res = await viaRest("PATCH", "/v1/admin/external/keys/key_1", "boundary-masked", { tier: "pro" });
    expect([res.status, res.text]).toEqual([500, expect.not.stringContaining(dbPassword)]);
    expectOneSafeLine("boundary-masked", "UpdateKey");
    expect(linesOf("boundary-masked")[0]!.error).toMatchObject({ type: "TypeError", message: "cannot connect to postgres://onering:[redacted]@db:5432/onering with sk_live_[redacted]" });
  });

  it.each(["connect", "grpc"] as const)("over %s: one log line, and a bare INTERNAL", async (protocol) => {
    const err = await viaRpc(protocol, (client, options) => client.revokeKey({ id: "key_1" }, options), `boundary-${protocol}`);
    expect([err.code, err.rawMessage, reasonOf(err)]).toEqual([Code.Internal, "internal error", "INTERNAL"]);
    expectOneSafeLine(`boundary-${protocol}`, "RevokeKey");
  });
});

describe("a lost connection", () => {
  it("over REST is 503 UNAVAILABLE with Retry-After: 1, a warning and not an error", async () => {
    const res = await viaRest("GET", "/v1/admin/external/keys/key_1", "boundary-lost");
    expect([res.status, JSON.parse(res.text).code, res.headers.get("retry-after")]).toEqual([503, "UNAVAILABLE", "1"]);
    expect(linesOf("boundary-lost").filter((l) => l.level >= 40)).toEqual([expect.objectContaining({ level: 40, code: "UNAVAILABLE", status: 503 })]);
  });

  it.each(["connect", "grpc"] as const)("over %s is Unavailable with the ErrorInfo reason UNAVAILABLE", async (protocol) => {
    const err = await viaRpc(protocol, (client, options) => client.getKey({ id: "key_1" }, options), `boundary-lost-${protocol}`);
    expect([err.code, reasonOf(err), err.rawMessage]).toEqual([Code.Unavailable, "UNAVAILABLE", "a backing service is unreachable"]);
  });

  it("passed on from an internal call without headers gets Retry-After: 1 on REST too", async () => {
    const res = await viaRest("GET", "/v1/admin/external/keys", "boundary-passed");
    expect([res.status, JSON.parse(res.text).code, res.headers.get("retry-after")]).toEqual([503, "UNAVAILABLE", "1"]);
  });
});

it("lets a contract error through as it was, without an error log line", async () => {
  const res = await viaRest("GET", "/v1/external/webhooks/wh_1", "boundary-contract");
  expect([res.status, JSON.parse(res.text)]).toEqual([404, expect.objectContaining({ code: "NOT_FOUND", message: "no webhook wh_1" })]);
  expect(res.headers.get("retry-after")).toBeNull();
  expect(linesOf("boundary-contract").filter((l) => l.level >= 40)).toEqual([]);
});

// The gateway edge over real processes: every auth rule and error code, key
// lifecycle through the admin API, rate-limit headers, bad input, and that
// neither secrets nor a flood of broken keys reach KeyService's storage.
import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { admin, bearer, call, counter, createKey, eventually } from "./gatewayClient.js";

let mesh: Mesh;
let gw: string;
beforeAll(async () => {
  mesh = await startMesh({ only: ["key", "gateway"], env: { ONERING_RATE_LIMIT_CANARY: "3" } });
  gw = mesh.gatewayUrl;
});
afterAll(() => mesh?.stop());

const verifyCalls = () => counter(mesh.url("key"), "onering_rpc_requests_total", { method: "VerifyKey" });

describe("authentication", () => {
  it("answers GetMe for a key sent as Bearer or X-API-Key, with the rate-limit headers", async () => {
    const { id, secret } = await createKey(mesh, { name: "me", tier: "pro" });
    expect(secret).toMatch(/^sk_live_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$/);
    const viaBearer = await call(gw, "GetMe", {}, bearer(secret));
    expect(viaBearer.status).toBe(200);
    expect(viaBearer.body).toMatchObject({ id, name: "me", tier: "pro", limit: "1000", remaining: "999" });
    expect(viaBearer.headers.get("x-ratelimit-limit")).toBe("1000");
    expect(viaBearer.headers.get("x-ratelimit-remaining")).toBe("999");
    expect(Number(viaBearer.headers.get("x-ratelimit-reset")) % 3600).toBe(0);
    expect(viaBearer.headers.get("x-canary-mode")).toBe("false");
    expect(viaBearer.headers.get("ratelimit-policy")).toBe('"hourly";q=1000;w=3600');
    expect(viaBearer.headers.get("ratelimit")).toMatch(/^"hourly";r=999;t=\d+$/);
    const viaHeader = await call(gw, "GetMe", {}, { "x-api-key": secret });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.body.remaining).toBe("998");
    expect(viaHeader.body.usageCount).toBeDefined();
  });

  it("answers a steady caller's GetMe without a round trip to KeyService, usage counting up", async () => {
    const { id, secret } = await createKey(mesh, { name: "steady", tier: "pro" });
    const first = await call(gw, "GetMe", {}, bearer(secret));
    expect(first.body).toMatchObject({ id, name: "steady", tier: "pro", usageCount: "1" });
    const keyCalls = () => counter(mesh.url("key"), "onering_rpc_requests_total", { service: "onering.v1.KeyService" });
    const before = await keyCalls();
    const usages: number[] = [];
    for (let i = 0; i < 20; i++) usages.push(Number((await call(gw, "GetMe", {}, bearer(secret))).body.usageCount));
    expect(usages).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    // The first call leased tokens ahead of demand; these 20 are served from the lease.
    expect(await keyCalls()).toBe(before);
  });

  it("counts in the admin usage_count the requests served, never tokens leased ahead", async () => {
    const { id, secret } = await createKey(mesh, { name: "leased", tier: "pro" });
    for (let i = 0; i < 2; i++) expect((await call(gw, "GetMe", {}, bearer(secret))).status).toBe(200);
    // Connect JSON leaves out a zero.
    const usage = async () => Number((await admin(mesh)("GetKey", { id })).body.key.usageCount ?? 0);
    // The lease holds ~100 tokens; none of them count until a request uses it.
    expect(await usage()).toBeLessThanOrEqual(2);
    // The gateway reports what it served with its next lease or release (an idle key's within a second or two).
    expect(await eventually(async () => (await usage()) === 2, 5000)).toBe(true);
  });

  it("rejects a missing key with MISSING_API_KEY", async () => {
    const reply = await call(gw, "GetMe", {});
    expect([reply.status, reply.reason]).toEqual([401, "MISSING_API_KEY"]);
    expect(reply.headers.get("x-canary-mode")).toBe("false");
  });

  it("rejects malformed, bad-checksum and unknown keys with INVALID_API_KEY", async () => {
    const { secret } = await createKey(mesh, { name: "typo" });
    const typo = secret.slice(0, 10) + (secret[10] === "a" ? "b" : "a") + secret.slice(11);
    const unknown = "sk_live_00000000000000000000000000000000_000000";
    for (const credential of [typo, "sk_live_short", "not-a-key", `${secret}x`, unknown]) {
      const reply = await call(gw, "GetMe", {}, bearer(credential));
      expect([reply.status, reply.reason], credential).toEqual([401, "INVALID_API_KEY"]);
    }
    const basic = await call(gw, "GetMe", {}, { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` });
    expect([basic.status, basic.reason]).toEqual([401, "INVALID_API_KEY"]);
  });

  it("never lets a flood of malformed or bad-checksum keys reach KeyService", async () => {
    const { secret } = await createKey(mesh, { name: "flood" });
    const before = await verifyCalls();
    const flood = Array.from({ length: 300 }, (_, i) => (i % 2 ? `${secret.slice(0, -1)}${secret.endsWith("0") ? "1" : "0"}` : `sk_live_${"x".repeat(i % 40)}`));
    const replies = await Promise.all(flood.map((k) => call(gw, "GetMe", {}, { "x-api-key": k })));
    expect(replies.every((r) => r.status === 401 && r.reason === "INVALID_API_KEY")).toBe(true);
    expect(await verifyCalls()).toBe(before);
    // An unknown but well-formed key is asked about once, then remembered.
    const unknown = "sk_live_11111111111111111111111111111111_000000";
    const repeated = await Promise.all(Array.from({ length: 20 }, () => call(gw, "GetMe", {}, bearer(unknown))));
    expect(new Set(repeated.map((r) => r.reason))).toEqual(new Set(["INVALID_API_KEY"]));
    expect(await verifyCalls()).toBeLessThanOrEqual(before + 1);
  });

  it("survives headers with control characters and answers with the contract's 401", async () => {
    const raw = (header: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(new URL(gw).port), "127.0.0.1");
        let data = "";
        socket.on("data", (chunk) => (data += chunk.toString()));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
        const body = "{}";
        socket.end(`POST /onering.v1.GatewayService/GetMe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n${header}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
    expect(await raw("X-API-Key: sk_live_\tabc")).toMatch(/^HTTP\/1.1 401/);
    expect(await raw("X-API-Key: sk_live_\u0001abc")).toMatch(/^HTTP\/1.1 400/);
    expect((await call(gw, "GetMe", {})).reason).toBe("MISSING_API_KEY");
  });
});

// REST runs the edge, rules, error boundary and metrics as one flat pass (restCalls.ts), Connect as interceptors: both must count alike.
describe("REST and Connect through the same edge", () => {
  const scrape = async (name: string, labels: Record<string, string>) => {
    const text = await (await fetch(`${gw}/metrics`, { headers: bearer(mesh.adminKey) })).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    return text
      .split("\n")
      .filter((line) => line.startsWith(`${name}{`) && wanted.every((l) => line.includes(l)))
      .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
  };
  const figures = async () => ({
    rpcOk: await scrape("onering_rpc_requests_total", { method: "GetMe", code: "ok" }),
    rpcUnauthenticated: await scrape("onering_rpc_requests_total", { method: "GetMe", code: "16" }),
    edgeOk: await scrape("onering_external_requests_total", { tier: "pro", outcome: "ok" }),
    authFailures: await scrape("onering_external_requests_total", { outcome: "auth_failure" }),
    refusals: await scrape("onering_gateway_refusals_total", { reason: "INVALID_API_KEY" }),
  });

  it("answer with the same headers and count every call once in the RPC metrics and the edge outcomes", async () => {
    const { secret } = await createKey(mesh, { name: "both-ways", tier: "pro" });
    const before = await figures();
    const rest = await fetch(`${gw}/v1/external/me`, { headers: bearer(secret) });
    expect(rest.status).toBe(200);
    const connect = await call(gw, "GetMe", {}, bearer(secret));
    expect(connect.status).toBe(200);
    for (const name of ["x-canary-mode", "x-ratelimit-limit", "ratelimit-policy"]) expect(rest.headers.get(name)).toBe(connect.headers.get(name));
    expect(rest.headers.get("x-request-id")).toBeTruthy();

    const wrong = `${secret.slice(0, -8)}AAAAAAAA`;
    const refusedRest = await fetch(`${gw}/v1/external/me`, { headers: bearer(wrong) });
    expect(refusedRest.status).toBe(401);
    expect(refusedRest.headers.get("x-canary-mode")).toBe("false");
    expect(((await refusedRest.json()) as { code: string }).code).toBe("INVALID_API_KEY");
    const refusedConnect = await call(gw, "GetMe", {}, bearer(wrong));
    expect(refusedConnect.reason).toBe("INVALID_API_KEY");

    const after = await figures();
    expect(after.rpcOk - before.rpcOk).toBe(2);
    expect(after.rpcUnauthenticated - before.rpcUnauthenticated).toBe(2);
    expect(after.edgeOk - before.edgeOk).toBe(2);
    expect(after.authFailures - before.authFailures).toBe(2);
    expect(after.refusals - before.refusals).toBe(2);
  });
});

describe("admin routes", () => {
  it("refuse an API key with FORBIDDEN, a wrong admin key with 401, and no credential with 401", async () => {
    const { secret } = await createKey(mesh, { name: "not-admin" });
    const withKey = await call(gw, "ListKeys", {}, bearer(secret));
    expect([withKey.status, withKey.reason]).toEqual([403, "FORBIDDEN"]);
    const monitoring = await call(gw, "GetExternalMetrics", {}, { "x-api-key": secret });
    expect([monitoring.status, monitoring.reason]).toEqual([403, "FORBIDDEN"]);
    const wrong = await call(gw, "ListKeys", {}, bearer(`${mesh.adminKey}x`));
    expect([wrong.status, wrong.reason]).toEqual([401, "INVALID_API_KEY"]);
    const none = await call(gw, "ListKeys", {});
    expect([none.status, none.reason]).toEqual([401, "MISSING_API_KEY"]);
    const empty = await call(gw, "GetMe", {}, { authorization: "Bearer " });
    expect([empty.status, empty.reason]).toEqual([401, "MISSING_API_KEY"]);
  });

  it("manage keys: create, get, list with filters and pages, update", async () => {
    const a = admin(mesh);
    const created = await a("CreateKey", { name: "listed", tier: "enterprise", metadata: { team: "ops" } });
    expect(created.body.key).toMatchObject({ name: "listed", tier: "enterprise", rateLimitPerHour: "10000", metadata: { team: "ops" } });
    expect(created.body.key.canary).toBeUndefined();
    expect(created.body.key.prefix).toBe(created.body.secret.slice(0, 12));
    const got = await a("GetKey", { id: created.body.key.id });
    expect(got.body.key.id).toBe(created.body.key.id);
    expect(JSON.stringify(got.body)).not.toContain(created.body.secret);
    const onlyEnterprise = await a("ListKeys", { tier: "enterprise" });
    expect(onlyEnterprise.body.keys.map((k: { id: string }) => k.id)).toEqual([created.body.key.id]);
    const seen: string[] = [];
    let token = "";
    do {
      const page = await a("ListKeys", { pageSize: 2, pageToken: token });
      expect(page.status).toBe(200);
      seen.push(...page.body.keys.map((k: { id: string }) => k.id));
      token = page.body.nextPageToken ?? "";
    } while (token);
    const all = await a("ListKeys", { pageSize: 200 });
    expect(seen).toEqual(all.body.keys.map((k: { id: string }) => k.id));
    const updated = await a("UpdateKey", { id: created.body.key.id, canary: true, name: "renamed" });
    expect(updated.body.key).toMatchObject({ name: "renamed", canary: true, tier: "enterprise", rateLimitPerHour: "3" });
    const missing = await a("GetKey", { id: "key_doesnotexist" });
    expect([missing.status, missing.reason]).toEqual([404, "NOT_FOUND"]);
  });

  it("carry the request id to KeyService, whose log lines of the change name it", async () => {
    const viaConnect = await call(gw, "CreateKey", { name: "traced" }, { ...bearer(mesh.adminKey), "x-request-id": "it-forwarded-create" });
    expect(viaConnect.status).toBe(200);
    const viaRest = await fetch(`${gw}/v1/admin/external/keys/${viaConnect.body.key.id}`, {
      method: "PATCH",
      headers: { ...bearer(mesh.adminKey), "content-type": "application/json", "x-request-id": "it-forwarded-update" },
      body: JSON.stringify({ name: "traced-2" }),
    });
    expect(viaRest.status).toBe(200);
    const logs = mesh.processes.get("key")!.logs;
    const lineOf = (id: string) => logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.request_id === id);
    expect(await eventually(async () => lineOf("it-forwarded-create") !== undefined && lineOf("it-forwarded-update") !== undefined, 5_000)).toBe(true);
    expect(lineOf("it-forwarded-create")).toMatchObject({ msg: "key created", keyId: viaConnect.body.key.id });
    expect(lineOf("it-forwarded-update")).toMatchObject({ msg: "key updated", keyId: viaConnect.body.key.id });
  });

  it("reject bad input with INVALID_ARGUMENT and violations, writing nothing", async () => {
    const a = admin(mesh);
    const before = (await a("ListKeys", { pageSize: 200, includeRevoked: true })).body.keys.length;
    const cases: [string, Record<string, unknown>, string][] = [
      ["CreateKey", { name: "" }, "name"],
      ["CreateKey", { name: "x".repeat(129) }, "name"],
      ["CreateKey", { name: "ok", tier: "gold" }, "tier"],
      ["CreateKey", { name: "ok", expireTime: "2001-01-01T00:00:00Z" }, "expire_time"],
      ["CreateKey", { name: "ok", metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
      ["CreateKey", { name: "ok", metadata: { k: "v".repeat(257) } }, 'metadata["k"]'],
      ["ListKeys", { pageSize: 500 }, "page_size"],
      ["ListKeys", { pageToken: "garbage" }, "page_token"],
    ];
    for (const [method, body, field] of cases) {
      const reply = await a(method, body);
      expect([reply.status, reply.reason], JSON.stringify(body).slice(0, 80)).toEqual([400, "INVALID_ARGUMENT"]);
      expect(reply.body.message).toContain(field);
    }
    const { id } = await createKey(mesh, { name: "rotating" });
    for (const grace of ["-1", String(31 * 24 * 3600)]) {
      const reply = await a("RotateKey", { id, gracePeriodSeconds: grace });
      expect([reply.status, reply.reason]).toEqual([400, "INVALID_ARGUMENT"]);
      expect(reply.body.message).toContain("grace_period_seconds");
    }
    const wrongType = await a("CreateKey", { name: 5 });
    expect(wrongType.status).toBe(400);
    const after = (await a("ListKeys", { pageSize: 200, includeRevoked: true })).body.keys.length;
    expect(after).toBe(before + 1);
  });

  it("set and list runtime flags, refusing unknown names", async () => {
    const a = admin(mesh);
    const unknown = await a("SetFlag", { name: "everything_enabled", enabled: false });
    expect([unknown.status, unknown.reason]).toEqual([400, "INVALID_ARGUMENT"]);
    const listed = await a("ListFlags");
    expect(listed.body.flags.map((f: { name: string }) => f.name)).toEqual(["external_api_enabled", "external_api_canary_only", "webhooks_enabled", "webhooks_delivery_enabled"]);
  });
});

describe("key lifecycle at the edge", () => {
  it("keeps the old secret during the rotation grace, then refuses it as API_KEY_REVOKED", async () => {
    const { id, secret: old } = await createKey(mesh, { name: "rotate" });
    expect((await call(gw, "GetMe", {}, bearer(old))).status).toBe(200);
    const rotated = await admin(mesh)("RotateKey", { id, gracePeriodSeconds: "2" });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(old);
    expect((await call(gw, "GetMe", {}, bearer(fresh))).status).toBe(200);
    expect((await call(gw, "GetMe", {}, bearer(old))).status).toBe(200);
    expect(await eventually(async () => (await call(gw, "GetMe", {}, bearer(old))).reason === "API_KEY_REVOKED", 10_000)).toBe(true);
    expect((await call(gw, "GetMe", {}, bearer(fresh))).status).toBe(200);

    const now = await admin(mesh)("RotateKey", { id });
    const immediately = await call(gw, "GetMe", {}, bearer(fresh));
    expect([immediately.status, immediately.reason]).toEqual([401, "API_KEY_REVOKED"]);
    expect((await call(gw, "GetMe", {}, bearer(now.body.secret))).status).toBe(200);
  });

  it("refuses an expired key as API_KEY_REVOKED", async () => {
    const { secret } = await createKey(mesh, { name: "short-lived", expireTime: new Date(Date.now() + 1500).toISOString() });
    expect((await call(gw, "GetMe", {}, bearer(secret))).status).toBe(200);
    expect(await eventually(async () => (await call(gw, "GetMe", {}, bearer(secret))).reason === "API_KEY_REVOKED", 10_000)).toBe(true);
  });

  it("rate-limits with 429 RATE_LIMITED, Retry-After and headers; canary keys get the canary limit", async () => {
    const { secret } = await createKey(mesh, { name: "canary", tier: "enterprise", canary: true });
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await call(gw, "GetMe", {}, bearer(secret)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    expect(replies.map((r) => r.headers.get("x-ratelimit-remaining"))).toEqual(["2", "1", "0", "0", "0"]);
    const limited = replies[4]!;
    expect(limited.reason).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("x-ratelimit-limit")).toBe("3");
    expect(limited.headers.get("ratelimit")).toMatch(/^"hourly";r=0;t=\d+$/);
  });

  it("stores only hashes: no secret appears anywhere in the keys schema", async () => {
    const { id, secret } = await createKey(mesh, { name: "stored" });
    const rotated = (await admin(mesh)("RotateKey", { id, gracePeriodSeconds: "60" })).body.secret as string;
    const db = new pg.Client({ connectionString: mesh.databaseUrl });
    await db.connect();
    try {
      const dump = JSON.stringify((await db.query("select * from keys.api_keys")).rows);
      expect(dump).toContain(id);
      for (const s of [secret, rotated]) {
        expect(dump).not.toContain(s);
        expect(dump).not.toContain(s.slice(12, 40));
      }
    } finally {
      await db.end();
    }
  });
});

// Known traffic through the real gateway shows up in MetricsService as exact
// counts, with the alerts flipping at their thresholds.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh({
    only: ["key", "metrics", "gateway"],
    env: { ONERING_RATE_LIMIT_FREE: "5", ONERING_ALERT_AUTH_FAILURES_24H: "3", ONERING_ALERT_RATE_LIMIT_HITS_24H: "3" },
  });
});
afterAll(() => mesh?.stop());

async function rest(path: string, init: { method?: string; key?: string; body?: unknown } = {}) {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${init.key ?? mesh.adminKey}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function until(path: string, done: (body: Record<string, any>) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { body } = await rest(path);
    if (done(body) || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("counts ok calls, bad keys and rate-limited calls exactly, by tier, with alerts", async () => {
  const created = await rest("/v1/admin/external/keys", { method: "POST", body: { name: "traffic", tier: "free" } });
  expect(created.status).toBe(200);
  const key = created.body.secret as string;
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push((await rest("/v1/external/me", { key })).status);
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  for (let i = 0; i < 3; i++) expect((await rest("/v1/external/me", { key: "sk_live_nope" })).status).toBe(401);

  let external = await until("/v1/monitoring/external/metrics", (b) => b.requests_total === "11");
  expect(external).toMatchObject({
    requests_total: "11",
    auth_failures_24h: "3",
    rate_limit_hits_24h: "3",
    active_keys: "1",
    keys_with_traffic_24h: "1",
    by_tier: {
      free: { requests: { ok: "5", rate_limited: "3" }, rate_limit_hits: "3", active_keys: "1", keys_with_traffic_24h: "1" },
      unknown: { requests: { auth_failure: "3" } },
    },
  });
  expect(external.alerts.auth_failures).toEqual({ threshold: 3, observed: 3, firing: false });
  expect(external.alerts.rate_limits).toEqual({ threshold: 3, observed: 3, firing: false });

  // One more of each crosses both thresholds.
  expect((await rest("/v1/external/me", { key })).status).toBe(429);
  expect((await rest("/v1/external/me", { key: "sk_live_nope" })).status).toBe(401);
  external = await until("/v1/monitoring/external/metrics", (b) => b.requests_total === "13");
  expect(external.alerts.auth_failures).toEqual({ threshold: 3, observed: 4, firing: true });
  expect(external.alerts.rate_limits).toEqual({ threshold: 3, observed: 4, firing: true });

  const inventory = await rest("/v1/monitoring/external/api-keys");
  expect(inventory.status).toBe(200);
  expect(inventory.body.active_keys).toBe("1");
  expect(inventory.body.by_tier).toEqual({ free: "1" });
  expect(inventory.body.keys).toMatchObject([{ id: created.body.key.id, tier: "free", usage_count: "5", requests_24h: "9", revoked: false }]);

  // active_keys means non-revoked keys on both routes; traffic is keys_with_traffic_24h.
  const idle = await rest("/v1/admin/external/keys", { method: "POST", body: { name: "idle", tier: "pro" } });
  const both = async () => [(await rest("/v1/monitoring/external/metrics")).body, (await rest("/v1/monitoring/external/api-keys")).body];
  let [metrics, keys] = await both();
  expect([metrics.active_keys, metrics.keys_with_traffic_24h, metrics.by_tier.pro.active_keys, keys.active_keys]).toEqual(["2", "1", "1", "2"]);
  expect((await rest(`/v1/admin/external/keys/${idle.body.key.id}`, { method: "DELETE" })).status).toBe(200);
  [metrics, keys] = await both();
  expect([metrics.active_keys, metrics.keys_with_traffic_24h, keys.active_keys]).toEqual(["1", "1", "1"]);
});

it("refuses monitoring routes to API keys", async () => {
  const created = await rest("/v1/admin/external/keys", { method: "POST", body: { name: "nosy" } });
  const reply = await rest("/v1/monitoring/external/metrics", { key: created.body.secret });
  expect([reply.status, reply.body.code]).toEqual([403, "FORBIDDEN"]);
});

// Two gateway replicas sharing one KeyService: the hourly limit is exact
// across them, counters survive restarts, a revocation reaches both within a
// second, and an unreachable KeyService fails closed with 503.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { admin, bearer, call, createKey, eventually, startGatewayReplica } from "./gatewayClient.js";

let mesh: Mesh;
let second: Awaited<ReturnType<typeof startGatewayReplica>>;
let gateways: string[];
beforeAll(async () => {
  mesh = await startMesh({ only: ["key", "gateway"] });
  second = await startGatewayReplica(mesh);
  gateways = [mesh.gatewayUrl, second.url];
});
afterAll(async () => {
  await second?.stop();
  await mesh?.stop();
});

/** Sends `total` GetMe calls from `callers` concurrent callers, alternating gateways; returns the statuses. */
async function burst(secret: string, total: number, callers: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < total) {
        const i = next++;
        const reply = await call(gateways[i % 2]!, "GetMe", {}, bearer(secret));
        if (reply.status === 429) expect(reply.reason).toBe("RATE_LIMITED");
        statuses.push(reply.status);
      }
    }),
  );
  return statuses;
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

it("admits exactly the free limit across two gateways: 150 requests from 50 callers → 100 ok, 50 rate-limited", async () => {
  const { secret } = await createKey(mesh, { name: "exact" });
  const statuses = await burst(secret, 150, 50);
  expect([count(statuses, 200), count(statuses, 429)]).toEqual([100, 50]);
});

it("keeps the count across a KeyService restart and a gateway restart", async () => {
  const { id, secret } = await createKey(mesh, { name: "durable" });
  const first = await burst(secret, 60, 10);
  expect(count(first, 200)).toBe(60);
  await mesh.stopProcess("key");
  await mesh.startProcess("key");
  await mesh.stopProcess("gateway");
  await mesh.startProcess("gateway");
  const rest = await burst(secret, 100, 10);
  expect([count(rest, 200), count(rest, 429)]).toEqual([40, 60]);
  // Only admitted requests count: leased tokens that went unused were handed back.
  const usage = async () => BigInt((await admin(mesh)("GetKey", { id })).body.key.usageCount);
  expect(await eventually(async () => (await usage()) === 100n, 5000)).toBe(true);
});

it("stops a revoked key on both gateways within a second", async () => {
  const { id, secret } = await createKey(mesh, { name: "revoked" });
  for (const gw of gateways) expect((await call(gw, "GetMe", {}, bearer(secret))).status).toBe(200);
  const revoked = await admin(mesh)("RevokeKey", { id });
  expect(revoked.body.key.revokeTime).toBeDefined();
  const refusedEverywhere = async () => {
    const replies = await Promise.all(gateways.map((gw) => call(gw, "GetMe", {}, bearer(secret))));
    return replies.every((r) => r.status === 401 && r.reason === "API_KEY_REVOKED");
  };
  expect(await eventually(refusedEverywhere, 1000)).toBe(true);
});

it("fails closed with 503 UNAVAILABLE when KeyService is down and the gateway cannot decide", async () => {
  const { secret } = await createKey(mesh, { name: "unverified" });
  await mesh.stopProcess("key");
  try {
    const reply = await call(second.url, "GetMe", {}, bearer(secret));
    expect([reply.status, reply.reason]).toEqual([503, "UNAVAILABLE"]);
    const listed = await admin(mesh)("ListKeys");
    expect([listed.status, listed.reason]).toEqual([503, "UNAVAILABLE"]);
  } finally {
    await mesh.startProcess("key");
  }
});

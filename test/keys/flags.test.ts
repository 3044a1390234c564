// Kill switch and canary-only mode, set by the environment at start and
// flipped live through the flags API, over real processes and NATS KV.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { admin, bearer, call, createKey, eventually } from "./gatewayClient.js";

describe("external API switched off by env", () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await startMesh({ only: ["key", "gateway"], env: { ONERING_EXTERNAL_API_ENABLED: "0" } });
  });
  afterAll(() => mesh?.stop());

  it("answers 503 EXTERNAL_API_DISABLED before looking at the key, keeps admin routes open, and turns back on live", async () => {
    const { secret } = await createKey(mesh, { name: "blocked" });
    for (const headers of [{}, bearer("garbage"), bearer(secret)]) {
      const reply = await call(mesh.gatewayUrl, "GetMe", {}, headers);
      expect([reply.status, reply.reason]).toEqual([503, "EXTERNAL_API_DISABLED"]);
    }
    const set = await admin(mesh)("SetFlag", { name: "external_api_enabled", enabled: true });
    expect(set.body.flag).toMatchObject({ name: "external_api_enabled", enabled: true, updatedBy: "admin" });
    expect(set.body.flag.updateTime).toBeDefined();
    expect(await eventually(async () => (await call(mesh.gatewayUrl, "GetMe", {}, bearer(secret))).status === 200, 1000)).toBe(true);
    const flags = await admin(mesh)("ListFlags");
    expect(flags.body.flags.find((f: { name: string }) => f.name === "external_api_enabled")).toMatchObject({ enabled: true, updatedBy: "admin" });
    expect(mesh.processes.get("gateway")!.logs.some((l) => l.includes('"audit":true') && l.includes("external_api_enabled"))).toBe(true);
  });
});

describe("canary-only mode by env", () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await startMesh({ only: ["key", "gateway"], env: { ONERING_EXTERNAL_API_CANARY_ONLY: "1" } });
  });
  afterAll(() => mesh?.stop());

  it("admits canary keys only, with X-Canary-Mode: true, until switched off live; then on again live", async () => {
    const canary = await createKey(mesh, { name: "canary", canary: true });
    const regular = await createKey(mesh, { name: "regular", tier: "pro" });
    const refused = await call(mesh.gatewayUrl, "GetMe", {}, bearer(regular.secret));
    expect([refused.status, refused.reason]).toEqual([403, "CANARY_ONLY_MODE"]);
    expect(refused.headers.get("x-canary-mode")).toBe("true");
    const admitted = await call(mesh.gatewayUrl, "GetMe", {}, bearer(canary.secret));
    expect(admitted.status).toBe(200);
    expect(admitted.headers.get("x-canary-mode")).toBe("true");
    expect(admitted.headers.get("x-ratelimit-limit")).toBe("10");

    await admin(mesh)("SetFlag", { name: "external_api_canary_only", enabled: false });
    expect(await eventually(async () => (await call(mesh.gatewayUrl, "GetMe", {}, bearer(regular.secret))).status === 200, 1000)).toBe(true);
    expect((await call(mesh.gatewayUrl, "GetMe", {}, bearer(regular.secret))).headers.get("x-canary-mode")).toBe("false");

    await admin(mesh)("SetFlag", { name: "external_api_canary_only", enabled: true });
    expect(await eventually(async () => (await call(mesh.gatewayUrl, "GetMe", {}, bearer(regular.secret))).reason === "CANARY_ONLY_MODE", 1000)).toBe(true);
    // Promoting the key to canary takes effect at once through the change notice.
    await admin(mesh)("UpdateKey", { id: regular.id, canary: true });
    expect(await eventually(async () => (await call(mesh.gatewayUrl, "GetMe", {}, bearer(regular.secret))).status === 200, 1000)).toBe(true);
  });

  it("kill switch flipped live wins over everything on external routes", async () => {
    const canary = await createKey(mesh, { name: "canary-2", canary: true });
    await admin(mesh)("SetFlag", { name: "external_api_enabled", enabled: false });
    expect(await eventually(async () => (await call(mesh.gatewayUrl, "GetMe", {}, bearer(canary.secret))).reason === "EXTERNAL_API_DISABLED", 1000)).toBe(true);
    await admin(mesh)("SetFlag", { name: "external_api_enabled", enabled: true });
    expect(await eventually(async () => (await call(mesh.gatewayUrl, "GetMe", {}, bearer(canary.secret))).status === 200, 1000)).toBe(true);
  });
});

describe("audit list of flips", () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await startMesh({ only: ["key", "gateway"] });
  });
  afterAll(() => mesh?.stop());

  it("lists every flip newest first with who set it, leaves start-up defaults out, and survives a gateway restart", async () => {
    expect((await admin(mesh)("ListFlagChanges")).body).toEqual({});
    const as = (operator: string) => (method: string, body: unknown) => call(mesh.gatewayUrl, method, body, { ...bearer(mesh.adminKey), "x-onering-operator": operator });
    await as("Ada Lovelace")("SetFlag", { name: "webhooks_delivery_enabled", enabled: false });
    // Anything beyond a plain name is dropped rather than written into the audit list.
    await as("Grace <script>")("SetFlag", { name: "webhooks_delivery_enabled", enabled: true });
    await admin(mesh)("SetFlag", { name: "external_api_canary_only", enabled: true });
    await mesh.stopProcess("gateway");
    await mesh.startProcess("gateway");
    const { changes } = (await admin(mesh)("ListFlagChanges")).body;
    expect(changes.map((c: Record<string, unknown>) => [c.name, c.enabled ?? false, c.updatedBy])).toEqual([
      ["external_api_canary_only", true, "admin"],
      ["webhooks_delivery_enabled", true, "admin (Grace script)"],
      ["webhooks_delivery_enabled", false, "admin (Ada Lovelace)"],
    ]);
    expect(new Date(changes[0].updateTime).getTime()).toBeGreaterThanOrEqual(new Date(changes[2].updateTime).getTime());
    const refused = await call(mesh.gatewayUrl, "ListFlagChanges", {}, bearer((await createKey(mesh, { name: "nosy" })).secret));
    expect([refused.status, refused.reason]).toEqual([403, "FORBIDDEN"]);
  });
});

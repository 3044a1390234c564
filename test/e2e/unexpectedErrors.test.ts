// Every service of the real mesh settles a genuine bug the same way (issue 18:
// only WebhookService logged one): the client gets a bare INTERNAL without the
// internal message, and the mesh logs exactly one error line, in the service
// where it happened, with the request id and without the failed query's
// parameters. The bugs are real: a table that refuses every row (key, webhook),
// a table that is gone (metrics), a KV bucket that takes no flag (gateway).
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { reasonOf } from "../../services/shared/errors.js";
import type { ProcessName } from "../../tools/mesh/processes.js";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { createKey } from "../chaos/rest.js";

let mesh: Mesh;
let owner: string;
beforeAll(async () => {
  mesh = await startMesh({ only: ["gateway", "key", "webhook", "metrics"] });
  owner = (await createKey(mesh.gatewayUrl, mesh.adminKey, { name: "bug-owner" })).secret;
}, 300_000);
afterAll(() => mesh?.stop());

/** Runs `sql` on the mesh's database while `fn` runs, then `undo`. */
async function withDatabaseChange(sql: string, undo: string, fn: () => Promise<void>): Promise<void> {
  const admin = new pg.Client({ connectionString: mesh.databaseUrl });
  await admin.connect();
  try {
    await admin.query(sql);
    try {
      await fn();
    } finally {
      await admin.query(undo);
    }
  } finally {
    await admin.end();
  }
}

async function restCall(method: string, path: string, key: string, requestId: string, body?: unknown) {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "x-request-id": requestId, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

// Secrets a failed insert's parameters hold: a signing secret, a key's SHA-256.
const secretShapes = [/whsec_[A-Za-z0-9+/]{8}/, /\b[0-9a-f]{64}\b/];

/** Waits for `service` to log the request, then checks every line the mesh logged for it. */
async function expectOneErrorLine(requestId: string, service: ProcessName, method: string) {
  const tagged = () => [...mesh.processes.values()].flatMap((p) => p.logs.filter((l) => l.includes(`"request_id":"${requestId}"`)).map((l) => ({ process: p.name, line: l })));
  await expect.poll(() => tagged().some((t) => t.process === service && t.line.includes('"level":50')), { timeout: 10_000 }).toBe(true);
  // Lines of other processes come through their own pipes; give them a moment.
  await new Promise((r) => setTimeout(r, 300));
  const errors = tagged().filter((t) => /"level":(50|60)/.test(t.line));
  expect(errors.map((t) => t.process)).toEqual([service]);
  expect(JSON.parse(errors[0]!.line)).toMatchObject({ msg: "unexpected error", method, request_id: requestId, error: { type: expect.any(String), stack: expect.any(String) } });
  for (const { line } of tagged()) for (const shape of secretShapes) expect(line).not.toMatch(shape);
}

const expectBareInternal = (reply: { status: number; text: string }, requestId: string) =>
  expect([reply.status, JSON.parse(reply.text)]).toEqual([500, { code: "INTERNAL", message: "internal error", recovery: expect.any(String), request_id: requestId }]);

it("KeyService: a table that refuses the new key", async () => {
  await withDatabaseChange("ALTER TABLE keys.api_keys ADD CONSTRAINT bug_refuse_all CHECK (false) NOT VALID", "ALTER TABLE keys.api_keys DROP CONSTRAINT bug_refuse_all", async () => {
    expectBareInternal(await restCall("POST", "/v1/admin/external/keys", mesh.adminKey, "bug-key", { name: "refused" }), "bug-key");
  });
  await expectOneErrorLine("bug-key", "key", "CreateKey");
});

it("WebhookService: a table that refuses the new webhook, with its signing secret", async () => {
  await withDatabaseChange(
    "ALTER TABLE webhooks.webhooks ADD CONSTRAINT bug_refuse_all CHECK (false) NOT VALID",
    "ALTER TABLE webhooks.webhooks DROP CONSTRAINT bug_refuse_all",
    async () => {
      expectBareInternal(await restCall("POST", "/v1/external/webhooks", owner, "bug-webhook", { url: "http://127.0.0.1:9/hook", event_types: ["bug.*"] }), "bug-webhook");
    },
  );
  await expectOneErrorLine("bug-webhook", "webhook", "CreateWebhook");
});

it("MetricsService: a rollup table that is gone", async () => {
  await withDatabaseChange("ALTER TABLE metrics.request_rollups RENAME TO request_rollups_gone", "ALTER TABLE metrics.request_rollups_gone RENAME TO request_rollups", async () => {
    expectBareInternal(await restCall("GET", "/v1/monitoring/external/metrics", mesh.adminKey, "bug-metrics"), "bug-metrics");
  });
  await expectOneErrorLine("bug-metrics", "metrics", "GetExternalMetrics");
});

it("gateway, over REST and Connect: a flag bucket that takes no value", async () => {
  const nc = await connect({ servers: mesh.natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${mesh.natsPrefix}_flags`;
  const { config } = await jsm.streams.info(stream);
  try {
    await jsm.streams.update(stream, { ...config, max_msg_size: 1 });
    expectBareInternal(await restCall("PUT", "/v1/admin/flags/webhooks_enabled", mesh.adminKey, "bug-gateway", { enabled: true }), "bug-gateway");
    await expectOneErrorLine("bug-gateway", "gateway", "SetFlag");

    const client = createClient(GatewayService, createConnectTransport({ baseUrl: mesh.gatewayUrl, httpVersion: "1.1" }));
    const headers = { authorization: `Bearer ${mesh.adminKey}`, "x-request-id": "bug-gateway-connect" };
    const err = ConnectError.from(await client.setFlag({ name: "webhooks_enabled", enabled: true }, { headers }).then(() => expect.unreachable("should have failed"), (e: unknown) => e));
    expect([err.code, err.rawMessage, reasonOf(err)]).toEqual([Code.Internal, "internal error", "INTERNAL"]);
    await expectOneErrorLine("bug-gateway-connect", "gateway", "SetFlag");
  } finally {
    await jsm.streams.update(stream, config);
    await nc.close();
  }
});

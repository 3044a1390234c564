// The sink (`npm run sink`, its own process) against real deliveries from a
// live mesh: a valid one verifies, an admin replay of it counts as a replay,
// and tampered and stale copies of it are rejected.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startMesh, type Mesh } from "../harness/mesh.js";
import { eventually, rest, startSinkProcess, type SinkProcess } from "./toolProcess.js";

interface Logged {
  id: string;
  timestamp: number;
  signature: string;
  verified: boolean;
  payload: { data?: { nonce?: string } };
}
interface SinkLog {
  deliveries: Logged[];
  counters: { received: number; accepted: number; rejected: number; replays: number };
}

// The sink's replay window; short, so a real delivery turns stale within the test.
const toleranceSeconds = 3;
let mesh: Mesh;
let sink: SinkProcess;
let captured: Logged;

const sinkLog = async () => (await (await fetch(`${sink.url}/deliveries`)).json()) as SinkLog;

function resend(copy: Logged, body: string) {
  return fetch(`${sink.url}/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": copy.id,
      "webhook-timestamp": String(copy.timestamp),
      "webhook-signature": copy.signature,
    },
    body,
  });
}

beforeAll(async () => {
  mesh = await startMesh({ env: { ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5" } });
  const created = await rest<{ secret: string }>(`${mesh.gatewayUrl}/v1/admin/external/keys`, mesh.adminKey, {
    method: "POST",
    body: { name: "sink-test", tier: "pro" },
  });
  // The webhook comes first (its secret is shown only then); the sink starts with it.
  const port = await freePort();
  const webhook = await rest<{ secret: string }>(`${mesh.gatewayUrl}/v1/external/webhooks`, created.secret, {
    method: "POST",
    body: { url: `http://127.0.0.1:${port}/webhook`, event_types: ["sinktest.*"] },
  });
  sink = await startSinkProcess(["--port", String(port), "--secret", webhook.secret, "--tolerance-seconds", String(toleranceSeconds)]);
});
afterAll(async () => {
  await sink?.stop();
  await mesh?.stop();
});

describe("webhook sink against a live mesh", () => {
  it("verifies a real delivery's signature and logs it once", async () => {
    const nonce = randomUUID();
    await rest(`${mesh.gatewayUrl}/v1/admin/events`, mesh.adminKey, { method: "POST", body: { type: "sinktest.created", data: { nonce } } });
    captured = await eventually(async () => (await sinkLog()).deliveries.find((d) => d.payload.data?.nonce === nonce), "the delivery at the sink");
    expect(captured.verified).toBe(true);
    expect(captured.id).toMatch(/^dlv_/);
    expect((await sinkLog()).counters).toMatchObject({ accepted: 1, rejected: 0, replays: 0 });
  });

  it("counts an admin replay of the same delivery as a replay, not a new delivery", async () => {
    await rest(`${mesh.gatewayUrl}/v1/admin/webhooks/deliveries/${captured.id}:replay`, mesh.adminKey, { method: "POST", body: {} });
    const log = await eventually(async () => {
      const current = await sinkLog();
      return current.counters.replays === 1 && current;
    }, "the replay at the sink");
    expect(log.deliveries).toHaveLength(1);
    expect(log.counters.accepted).toBe(1);
  });

  it("rejects a tampered copy of a real delivery", async () => {
    const tampered = JSON.stringify({ ...captured.payload, data: { nonce: "someone else's" } });
    const res = await resend(captured, tampered);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "signature does not verify" });
    expect((await sinkLog()).counters.rejected).toBe(1);
  });

  it("rejects a copy of a real delivery once its timestamp is outside the replay window", async () => {
    await eventually(() => Date.now() / 1000 - captured.timestamp > toleranceSeconds + 1, "the delivery to go stale", 10_000);
    const res = await resend(captured, JSON.stringify(captured.payload));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "timestamp outside the replay window" });
    const log = await sinkLog();
    expect(log.counters).toMatchObject({ accepted: 1, rejected: 2, replays: 1 });
    expect(log.deliveries).toHaveLength(1);
  });
});

// The sink over real HTTP: valid, tampered, stale and duplicate deliveries,
// and deliberate failures.
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { startSink, type Sink, type SinkOptions } from "../../tools/webhook-sink/sink.js";

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const signer = new Webhook(secret);
let sink: Sink | undefined;
afterEach(() => sink?.close());

async function open(overrides: Partial<SinkOptions> = {}): Promise<Sink> {
  sink = await startSink({ port: 0, secrets: [secret], toleranceSeconds: 300, failRate: 0, failStatus: 500, delayMs: 0, ...overrides });
  return sink;
}

function post(url: string, id: string, body: string, at = new Date(), signature?: string) {
  return fetch(`${url}/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature ?? signer.sign(id, at, body),
    },
    body,
  });
}

describe("webhook sink", () => {
  it("accepts a validly signed delivery and lists it", async () => {
    const { url } = await open();
    expect((await post(url, "msg_1", '{"type":"a.b"}')).status).toBe(204);
    const log = (await (await fetch(`${url}/deliveries`)).json()) as { deliveries: { id: string; payload: unknown }[] };
    expect(log.deliveries).toMatchObject([{ id: "msg_1", payload: { type: "a.b" } }]);
  });

  it("rejects a tampered body", async () => {
    const { url, counters } = await open();
    const at = new Date();
    const signature = signer.sign("msg_2", at, '{"amount":1}');
    expect((await post(url, "msg_2", '{"amount":1000}', at, signature)).status).toBe(401);
    expect(counters.rejected).toBe(1);
  });

  it("rejects a timestamp outside the replay window even when signed", async () => {
    const { url } = await open({ toleranceSeconds: 60 });
    const stale = new Date(Date.now() - 120_000);
    expect((await post(url, "msg_3", "{}", stale)).status).toBe(401);
  });

  it("counts a duplicate webhook-id as a replay, acknowledged once logged", async () => {
    const { url, counters, deliveries } = await open();
    expect((await post(url, "msg_4", "{}")).status).toBe(204);
    expect((await post(url, "msg_4", "{}")).status).toBe(200);
    expect(counters.replays).toBe(1);
    expect(deliveries).toHaveLength(1);
  });

  it("verifies with any of several secrets (rotation)", async () => {
    const other = `whsec_${randomBytes(24).toString("base64")}`;
    const { url } = await open({ secrets: [other, secret] });
    expect((await post(url, "msg_5", "{}")).status).toBe(204);
  });

  it("fails on purpose with the configured status", async () => {
    const { url, counters } = await open({ failRate: 1, failStatus: 503 });
    expect((await post(url, "msg_6", "{}")).status).toBe(503);
    expect(counters.failedOnPurpose).toBe(1);
  });

  it("takes new secrets over HTTP and clears its log", async () => {
    const { url } = await open({ secrets: [] });
    expect((await fetch(`${url}/secrets`, { method: "PUT", body: JSON.stringify({ secrets: ["nope"] }) })).status).toBe(400);
    expect((await fetch(`${url}/secrets`, { method: "PUT", body: JSON.stringify({ secrets: [secret] }) })).status).toBe(204);
    expect((await post(url, "msg_7", "{}", new Date(), "v1,AAAA")).status).toBe(401);
    expect((await post(url, "msg_8", "{}")).status).toBe(204);
    expect((await fetch(`${url}/deliveries`, { method: "DELETE" })).status).toBe(204);
    expect(((await (await fetch(`${url}/deliveries`)).json()) as { deliveries: unknown[] }).deliveries).toEqual([]);
  });
});

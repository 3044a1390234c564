// The delivery worker against a fake consumer and a fake store (a unit test:
// the real path is covered end to end elsewhere), with a real local receiver.
// What is checked here is the JetStream bookkeeping around one attempt: which
// messages get their ack-wait renewed, that each is acked once settled, and
// that an endpoint's overflow is parked rather than handed back to the stream.
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { Registry } from "prom-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../services/shared/config.js";
import { createLogger } from "../../services/shared/logger.js";
import type { RuntimeFlags } from "../../services/shared/runtimeFlags.js";
import { encodeJob } from "../../services/webhook/deliveryJobs.js";
import { newSigningSecret } from "../../services/webhook/signature.js";
import { DeliveryWorker } from "../../services/webhook/worker/deliveryWorker.js";
import type { Parking } from "../../services/webhook/worker/claimStore.js";
import type { OutboxRelay } from "../../services/webhook/outboxRelay.js";
import type { UsagePublishers } from "../../services/shared/usageStream.js";
import { WorkerMetrics } from "../../services/webhook/worker/workerMetrics.js";
import type { WorkerStore } from "../../services/webhook/worker/workerStore.js";
import { eventually, startReceiver, type Receiver } from "./receiver.js";

interface FakeMessage extends JsMsg {
  calls: string[];
}

function message(seq: number, deliveryId: string): FakeMessage {
  const calls: string[] = [];
  const data = encodeJob({ deliveryId, webhookId: "wh_1", generation: 0 });
  return {
    seq,
    calls,
    string: () => data,
    working: () => void calls.push("working"),
    ack: () => void calls.push("ack"),
    nak: () => void calls.push("nak"),
    term: () => void calls.push("term"),
  } as unknown as FakeMessage;
}

/** Hands out the given messages on the first fetch, nothing after. */
function consumerOf(messages: JsMsg[]): Consumer {
  let pending = messages;
  return {
    fetch: async () => {
      const batch = pending;
      pending = [];
      if (batch.length === 0) await new Promise((r) => setTimeout(r, 20));
      return (async function* () {
        yield* batch;
      })();
    },
  } as unknown as Consumer;
}

let receiver: Receiver;
const received = () => receiver.on("/hook").map((r) => r.headers["webhook-id"]);

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

const noOutcome = { newDeliveries: [], disabled: [], circuitsOpened: [], outcomes: { delivered: 0, retried: 0, deadLettered: 0 }, settled: [] };

/** Runs the worker over `messages`, each claim answered after `claimDelayMs`, until every one is settled; returns what was parked. */
async function deliver(messages: FakeMessage[], claimDelayMs: number, env: Record<string, string> = {}, leaseMs = 60_000): Promise<Parking[]> {
  const parked: Parking[] = [];
  const store: WorkerStore = {
    claim: async (ids) => {
      await new Promise((r) => setTimeout(r, claimDelayMs));
      return ids.map((id) => ({
        send: { id, webhookId: "wh_1", url: `${receiver.url}/hook`, secrets: [newSigningSecret()], payload: "{}", attemptNumber: 1, leasedUntil: new Date(Date.now() + leaseMs) },
      }));
    },
    record: async () => noOutcome,
    park: async (parkings) => void parked.push(...parkings),
  };
  const worker = new DeliveryWorker({
    store,
    relay: { kick: () => undefined } as unknown as OutboxRelay,
    config: loadConfig("webhook", { ONERING_ADMIN_KEY: "admin-key-for-the-test", ONERING_INTERNAL_TOKEN: "internal-token-for-the-test", ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1", ...env }, "worker"),
    flags: { enabled: () => true, onChange: () => () => undefined } as unknown as RuntimeFlags,
    logger: createLogger("test", "silent"),
    metrics: new WorkerMetrics(new Registry(), { record: () => undefined } as unknown as UsagePublishers["webhooks"]),
  });
  worker.start(consumerOf(messages));
  try {
    await eventually(() => messages.every((m) => m.calls.includes("ack")), "every job acknowledged", 10_000);
  } finally {
    await worker.stop();
  }
  return parked;
}

it("sends a job that arrived just now without renewing its ack-wait, and acks it once recorded", async () => {
  const messages = [message(1, "dlv_fresh1"), message(2, "dlv_fresh2")];
  await deliver(messages, 0);
  expect(received()).toEqual(expect.arrayContaining(["dlv_fresh1", "dlv_fresh2"]));
  for (const m of messages) expect(m.calls).toEqual(["ack"]);
});

it("renews the ack-wait of a job that waited over a second for its claim before sending it", async () => {
  const messages = [message(3, "dlv_waited")];
  await deliver(messages, 1200);
  expect(received()).toContain("dlv_waited");
  expect(messages[0]!.calls).toEqual(["working", "ack"]);
});

it("parks the jobs an endpoint has no room for and acknowledges them, so none holds an ack-pending slot", async () => {
  // One slot, four claimed ahead, eight waiting: of twenty jobs pulled at once, eight find no room.
  const messages = Array.from({ length: 20 }, (_, i) => message(10 + i, `dlv_over${i}`));
  const parked = await deliver(messages, 0, { ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY: "1" });
  expect(parked.map((p) => p.id).sort()).toEqual(messages.slice(12).map((m) => JSON.parse(m.string()).d).sort());
  for (const p of parked) expect(p.until!.getTime()).toBeGreaterThan(Date.now() - 5000);
  for (const m of messages) expect(m.calls.filter((c) => c === "nak")).toEqual([]);
  expect(received()).toEqual(expect.arrayContaining(messages.slice(0, 12).map((m) => JSON.parse(m.string()).d)));
});

it("parks a claimed job, giving its lease up, when too little of the lease is left for an attempt, rather than sending it", async () => {
  const messages = [message(40, "dlv_shortlease")];
  // A 10 s attempt timeout against a lease that ends in 5 s: another worker could send it once the lease is over.
  const parked = await deliver(messages, 0, {}, 5_000);
  expect(parked).toEqual([{ id: "dlv_shortlease", until: null, release: true }]);
  expect(received()).not.toContain("dlv_shortlease");
  expect(messages[0]!.calls).toEqual(["ack"]);
});

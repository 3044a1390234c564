// The delivery worker against a fake consumer and a fake WebhookService (a
// unit test: the real path is covered end to end elsewhere), with a real local
// receiver. What is checked here is the JetStream bookkeeping around one
// attempt: which messages get their ack-wait renewed, and that each is acked.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { Registry } from "prom-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AttemptVerdictSchema, ClaimedDeliverySchema, ClaimOutcome, type WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { loadConfig } from "../../services/shared/config.js";
import { createLogger } from "../../services/shared/logger.js";
import type { RuntimeFlags } from "../../services/shared/runtimeFlags.js";
import { encodeJob } from "../../services/webhook/deliveryJobs.js";
import { newSigningSecret } from "../../services/webhook/signature.js";
import { DeliveryWorker } from "../../services/webhook/worker/deliveryWorker.js";
import { WorkerMetrics } from "../../services/webhook/worker/workerMetrics.js";
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

/** Runs the worker over `messages`, each claim answered after `claimDelayMs`, until every one is settled. */
async function deliver(messages: FakeMessage[], claimDelayMs: number): Promise<void> {
  const client = {
    claimDeliveries: async ({ ids }: { ids: string[] }) => {
      await new Promise((r) => setTimeout(r, claimDelayMs));
      return {
        deliveries: ids.map((id) =>
          create(ClaimedDeliverySchema, { id, outcome: ClaimOutcome.SEND, webhookId: "wh_1", url: `${receiver.url}/hook`, secrets: [newSigningSecret()], payload: "{}", attemptNumber: 1 }),
        ),
      };
    },
    recordAttempts: async ({ results }: { results: { deliveryId: string }[] }) => ({
      verdicts: results.map((r) => create(AttemptVerdictSchema, { deliveryId: r.deliveryId, retry: false })),
    }),
  } as unknown as Client<typeof WebhookService>;
  const worker = new DeliveryWorker({
    js: undefined as never,
    client,
    config: loadConfig("webhook", { ONERING_ADMIN_KEY: "admin-key-for-the-test", ONERING_INTERNAL_TOKEN: "internal-token-for-the-test", ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1" }, "worker"),
    flags: { enabled: () => true, onChange: () => () => undefined } as unknown as RuntimeFlags,
    logger: createLogger("test", "silent"),
    metrics: new WorkerMetrics(new Registry()),
  });
  worker.start(consumerOf(messages));
  try {
    await eventually(() => messages.every((m) => m.calls.includes("ack")), "every job acknowledged", 10_000);
  } finally {
    await worker.stop();
  }
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

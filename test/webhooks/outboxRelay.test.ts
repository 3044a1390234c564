// The outbox relay's marks linger before they are written, so a stop must let
// freshly kicked relays finish, marks included, before storage closes. The
// JetStream client and the store are fakes: this is about the relay's own order.
import type { JetStreamClient } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { loadConfig } from "../../services/shared/config.js";
import { createLogger } from "../../services/shared/logger.js";
import type { DeliveryJob } from "../../services/webhook/deliveryJobs.js";
import type { DeliveryStore } from "../../services/webhook/deliveryStore.js";
import { OutboxRelay } from "../../services/webhook/outboxRelay.js";

const config = loadConfig("webhook", { ONERING_ADMIN_KEY: "a".repeat(20), ONERING_INTERNAL_TOKEN: "b".repeat(20) });

it("stop() waits for kicked relays and their lingering marks", async () => {
  const published: string[] = [];
  const marked: DeliveryJob[][] = [];
  const js = { publish: async (_subject: string, _data: string, opts: { msgID: string }) => void published.push(opts.msgID) } as unknown as JetStreamClient;
  const store = { markEnqueued: async (jobs: DeliveryJob[]) => void marked.push(jobs) } as unknown as DeliveryStore;
  const relay = new OutboxRelay(js, store, config, createLogger("test", "silent"));

  relay.kick([
    { id: "dlv_1", webhookId: "wh_1", generation: 0 },
    { id: "dlv_2", webhookId: "wh_1", generation: 1 },
  ]);
  await relay.stop();

  expect(published).toEqual(["dlv_1", "dlv_2.1"]);
  expect(marked).toEqual([
    [
      { deliveryId: "dlv_1", webhookId: "wh_1", generation: 0 },
      { deliveryId: "dlv_2", webhookId: "wh_1", generation: 1 },
    ],
  ]);
});

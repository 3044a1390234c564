// Marking relayed deliveries never waits for rows a claim or a recorded attempt
// holds: marks arrive late (they linger), met those statements on the same rows
// in another lock order, and deadlocked under load. Real Postgres, a second
// connection holding one row's lock.
import { eq } from "drizzle-orm";
import pg from "pg";
import { expect, it } from "vitest";
import { DeliveryStore } from "../../services/webhook/deliveryStore.js";
import * as schema from "../../services/webhook/schema.js";
import { createTestDatabase } from "../harness/mesh.js";
import { openWebhookStorage } from "./webhookStorage.js";

it("marks the free rows of a batch at once and leaves a locked one for the sweep", async () => {
  const database = await createTestDatabase();
  const storage = await openWebhookStorage(database.url);
  const locker = new pg.Client({ connectionString: database.url });
  try {
    await storage.db.insert(schema.webhooks).values({ id: "wh_1", ownerKeyId: "key_1", url: "https://example.com/hook", eventTypes: ["a.b"], secret: "whsec_x" });
    await storage.db.insert(schema.events).values({ id: "evt_1", type: "a.b", data: {} });
    await storage.db.insert(schema.deliveries).values(["dlv_held", "dlv_free"].map((id) => ({ id, eventId: "evt_1", webhookId: "wh_1", status: "pending" })));
    await locker.connect();
    await locker.query("begin");
    await locker.query("select 1 from webhooks.deliveries where id = 'dlv_held' for update");

    const marked = new DeliveryStore(storage.db).markEnqueued([
      { deliveryId: "dlv_held", webhookId: "wh_1", generation: 0 },
      { deliveryId: "dlv_free", webhookId: "wh_1", generation: 0 },
    ]);
    // Waiting for the lock would leave the mark pending until the locker commits.
    const outcome = await Promise.race([marked.then(() => "marked"), new Promise((r) => setTimeout(() => r("still waiting"), 10_000))]);
    expect(outcome).toBe("marked");

    const enqueued = async (id: string) => (await storage.db.select().from(schema.deliveries).where(eq(schema.deliveries.id, id)))[0]!.enqueuedAt;
    expect(await enqueued("dlv_free")).toBeInstanceOf(Date);
    expect(await enqueued("dlv_held")).toBeNull();
    await locker.query("commit");
  } finally {
    await locker.end();
    await storage.close();
    await database.drop();
  }
}, 60_000);

// Which webhooks an event reaches is decided in SQL, in the statement that
// stores it; checked for single and group-committed publishes.
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { EventStore } from "../../services/webhook/eventStore.js";
import * as schema from "../../services/webhook/schema.js";
import { createTestDatabase } from "../harness/mesh.js";
import { openWebhookStorage } from "./webhookStorage.js";

const filters: Record<string, { eventTypes: string[]; enabled?: boolean }> = {
  wh_exact: { eventTypes: ["invoice.paid"] },
  wh_prefix: { eventTypes: ["invoice.*"] },
  wh_other: { eventTypes: ["customer.created", "refund.*"] },
  wh_disabled: { eventTypes: ["invoice.paid"], enabled: false },
};

// Event type → the webhooks it must reach.
const expected: [string, string[]][] = [
  ["invoice.paid", ["wh_exact", "wh_prefix"]],
  ["invoice.line.added", ["wh_prefix"]],
  ["invoices.paid", []],
  ["invoice.paid.late", ["wh_prefix"]],
  ["refund.issued", ["wh_other"]],
  ["customer.created", ["wh_other"]],
];

it("fans an event out to the enabled webhooks whose filters match, exact or prefix.*", async () => {
  const database = await createTestDatabase();
  const storage = await openWebhookStorage(database.url);
  try {
    await storage.db.insert(schema.webhooks).values(
      Object.entries(filters).map(([id, f]) => ({ id, ownerKeyId: "key_1", url: "https://example.com/hook", secret: "whsec_x", ...f })),
    );
    const store = new EventStore(storage.db, 3600);
    // All at once, so they share group commits.
    const published = await Promise.all(expected.map(([type]) => store.publish({ type, data: { type } })));
    for (const [i, [type, webhookIds]] of expected.entries()) {
      const { event, deliveries, deliveryCount } = published[i]!;
      expect(event.type).toBe(type);
      expect(Math.abs(event.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(deliveries.map((d) => d.webhookId).sort()).toEqual(webhookIds);
      expect(deliveryCount).toBe(webhookIds.length);
      const stored = await storage.db.select().from(schema.deliveries).where(eq(schema.deliveries.eventId, event.id));
      expect(stored.map((d) => d.id).sort()).toEqual(deliveries.map((d) => d.id).sort());
      for (const d of stored) {
        expect(d.id).toMatch(/^dlv_[0-9a-f]{32}$/);
        expect(d).toMatchObject({ status: "pending", generation: 0, attemptCount: 0, enqueuedAt: null });
      }
      const [row] = await storage.db.select().from(schema.events).where(eq(schema.events.id, event.id));
      expect(row).toMatchObject({ type, data: { type }, idempotencyKey: null });
    }
  } finally {
    await storage.close();
    await database.drop();
  }
});

// The database handle of WebhookService (pg or PGlite, same code path).
import type { Db } from "../shared/database.js";
import type * as schema from "./schema.js";

export type WebhookDb = Db<typeof schema>;
export type WebhookRow = typeof schema.webhooks.$inferSelect;
export type DeliveryRow = typeof schema.deliveries.$inferSelect;
export type EventRow = typeof schema.events.$inferSelect;
export type AttemptRow = typeof schema.attempts.$inferSelect;

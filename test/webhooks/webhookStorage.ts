// WebhookService's storage on a test database, migrated, for tests of its stores.
import path from "node:path";
import { openStorage } from "../../services/shared/database.js";
import { createLogger } from "../../services/shared/logger.js";
import * as schema from "../../services/webhook/schema.js";
import { repoRoot } from "../../tools/mesh/processes.js";

export function openWebhookStorage(databaseUrl: string) {
  return openStorage({
    schemaName: "webhooks",
    schema,
    migrationsFolder: path.join(repoRoot, "services", "webhook", "migrations"),
    databaseUrl,
    logger: createLogger("test", "silent"),
  });
}

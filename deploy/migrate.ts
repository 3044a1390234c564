// The migrations Job's entry point: applies every service's drizzle migrations
// to Postgres once per release, ahead of the rollout (docs/DEPLOY.md), so new
// replicas starting together do not race to change the same schema. Services
// still migrate at start (a no-op after this), which keeps local runs working.
import { loadConfig, requireDatabaseUrl, type ServiceName } from "../services/shared/config.js";
import { openStorage } from "../services/shared/database.js";
import { createLogger } from "../services/shared/logger.js";

/** Each service with storage and the Postgres schema it owns (see its main.ts). */
const ownedSchemas: Partial<Record<ServiceName, string>> = { key: "keys", webhook: "webhooks", metrics: "metrics" };

const logger = createLogger("migrate");

async function migrateAll(): Promise<void> {
  for (const [service, schemaName] of Object.entries(ownedSchemas) as [ServiceName, string][]) {
    const storage = await openStorage({
      schemaName,
      schema: {},
      migrationsFolder: new URL(`../services/${service}/migrations`, import.meta.url).pathname,
      databaseUrl: requireDatabaseUrl(loadConfig(service)),
      logger,
    });
    await storage.close();
  }
}

migrateAll().then(
  () => logger.info("all migrations applied"),
  (err: unknown) => {
    logger.fatal({ err }, "migration failed");
    process.exitCode = 1;
  },
);

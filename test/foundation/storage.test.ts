// Every service's migrations apply to a real Postgres database, idempotently and concurrently.
import { sql } from "drizzle-orm";
import path from "node:path";
import { expect, it } from "vitest";
import * as keySchema from "../../services/key/schema.js";
import * as metricsSchema from "../../services/metrics/schema.js";
import { openStorage } from "../../services/shared/database.js";
import { createLogger } from "../../services/shared/logger.js";
import * as webhookSchema from "../../services/webhook/schema.js";
import { repoRoot } from "../../tools/mesh/processes.js";
import { createTestDatabase } from "../harness/mesh.js";

const services: { service: string; schemaName: string; schema: Record<string, unknown>; table: string }[] = [
  { service: "key", schemaName: "keys", schema: keySchema, table: "api_keys" },
  { service: "webhook", schemaName: "webhooks", schema: webhookSchema, table: "deliveries" },
  { service: "metrics", schemaName: "metrics", schema: metricsSchema, table: "request_rollups" },
];
const logger = createLogger("test", "silent");

it("migrations create every service's schema, each in its own namespace, and are idempotent", async () => {
  const database = await createTestDatabase();
  try {
    for (const s of services) {
      const options = { ...s, migrationsFolder: path.join(repoRoot, "services", s.service, "migrations"), databaseUrl: database.url, logger };
      // Opening again re-runs the migrator, which must find nothing to do.
      await (await openStorage(options)).close();
      const storage = await openStorage(options);
      const result = (await storage.db.execute(
        sql`select table_name from information_schema.tables where table_schema = ${s.schemaName} and table_name = ${s.table}`,
      )) as unknown as { rows: unknown[] };
      expect(result.rows).toHaveLength(1);
      await storage.close();
    }
  } finally {
    await database.drop();
  }
});

it("lets every service migrate one fresh database at the same moment", async () => {
  const database = await createTestDatabase();
  try {
    // Twice each service, all at once: the migrators must queue, not race on CREATE SCHEMA.
    const opened = await Promise.all(
      [...services, ...services].map((s) =>
        openStorage({ ...s, migrationsFolder: path.join(repoRoot, "services", s.service, "migrations"), databaseUrl: database.url, logger }),
      ),
    );
    await Promise.all(opened.map((storage) => storage.close()));
  } finally {
    await database.drop();
  }
});

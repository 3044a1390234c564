// Migrations apply on both backends: a real Postgres database and embedded PGlite.
import { sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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
const dataDir = mkdtempSync(path.join(tmpdir(), "onering-pglite-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe.each(["postgres", "pglite"] as const)("migrations on %s", (backend) => {
  it("create every service's schema, each in its own namespace, and are idempotent", async () => {
    const database = backend === "postgres" ? await createTestDatabase() : undefined;
    try {
      for (const s of services) {
        const options = {
          ...s,
          migrationsFolder: path.join(repoRoot, "services", s.service, "migrations"),
          databaseUrl: database?.url,
          dataDir,
          logger,
        };
        let storage = await openStorage(options);
        expect(storage.kind).toBe(backend);
        // Opening again re-runs the migrator, which must find nothing to do. Once per
        // backend is proof enough: an embedded PGlite start-up costs seconds.
        if (backend === "postgres" || s === services[0]) {
          await storage.close();
          storage = await openStorage(options);
        }
        const result = (await storage.db.execute(
          sql`select table_name from information_schema.tables where table_schema = ${s.schemaName} and table_name = ${s.table}`,
        )) as unknown as { rows: unknown[] };
        expect(result.rows).toHaveLength(1);
        await storage.close();
      }
    } finally {
      await database?.drop();
    }
    // Embedded PGlite start-ups take a while on a loaded 2-core machine.
  }, 180_000);
});

it("lets every service migrate one fresh database at the same moment", async () => {
  const database = await createTestDatabase();
  try {
    // Twice each service, all at once: the migrators must queue, not race on CREATE SCHEMA.
    const opened = await Promise.all(
      [...services, ...services].map((s) =>
        openStorage({ ...s, migrationsFolder: path.join(repoRoot, "services", s.service, "migrations"), databaseUrl: database.url, dataDir, logger }),
      ),
    );
    await Promise.all(opened.map((storage) => storage.close()));
  } finally {
    await database.drop();
  }
});

// Every service's migrations apply to a real Postgres database, idempotently and concurrently.
import { sql } from "drizzle-orm";
import path from "node:path";
import pg from "pg";
import { expect, it } from "vitest";
import * as keySchema from "../../services/key/schema.js";
import * as metricsSchema from "../../services/metrics/schema.js";
import { isConnectionLoss } from "../../services/shared/connectionLoss.js";
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

it("runs a read once more on a fresh connection when its own is lost, never a write", async () => {
  const database = await createTestDatabase();
  const admin = new pg.Client({ connectionString: database.url });
  const storage = await openStorage({ ...services[0]!, migrationsFolder: path.join(repoRoot, "services", "key", "migrations"), databaseUrl: database.url, logger });
  try {
    await admin.connect();
    await admin.query("create table written (n int)");
    // Terminates the backend running the statement marked so, once it runs (the admin's own query is marked too).
    const terminate = async (marker: string) => {
      const running = `select pid from pg_stat_activity where state = 'active' and query like '%${marker}%' and pid <> pg_backend_pid()`;
      await expect.poll(async () => (await admin.query(running)).rowCount).toBe(1);
      await admin.query(`select pg_terminate_backend(pid) from (${running}) busy`);
    };

    // drizzle runs a query when it is awaited; Promise.resolve starts it now.
    const read = Promise.resolve(storage.db.execute(sql`select pg_sleep(0.5), 'read-marker' as marker`));
    await terminate("read-marker");
    expect(((await read) as unknown as { rows: Array<{ marker: string }> }).rows[0]?.marker).toBe("read-marker");

    const write = storage.db.execute(sql`insert into written select 1 from pg_sleep(0.5) /* write-marker */`).then(() => expect.unreachable("the write should fail"), (err: unknown) => err);
    await terminate("write-marker");
    expect(isConnectionLoss(await write)).toBe(true);
    expect((await admin.query("select count(*)::int as n from written")).rows[0].n).toBe(0);
  } finally {
    await admin.end();
    await storage.close();
    await database.drop();
  }
});

// One storage code path for every service and every setting (npm start's
// embedded PostgreSQL, tests, Kubernetes): node-postgres + drizzle. The
// drizzle-kit migrations of each service are recorded in a table of its own,
// so services sharing one database never see each other's history.
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import pg from "pg";
import { isConnectionLoss } from "./connectionLoss.js";
import type { Logger } from "./logger.js";

/** Advisory lock id that serialises every service's migrations on one database. */
const migrationLockId = 7_310_001;

export type Db<TSchema extends Record<string, unknown>> = PgDatabase<PgQueryResultHKT, TSchema>;

export interface Storage<TSchema extends Record<string, unknown>> {
  db: Db<TSchema>;
  /** True when a trivial query succeeds (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenStorageOptions<TSchema extends Record<string, unknown>> {
  /** Postgres schema the service owns (created by its first migration). */
  schemaName: string;
  schema: TSchema;
  migrationsFolder: string;
  databaseUrl: string;
  logger: Logger;
}

const isRead = (textOrConfig: unknown): boolean => {
  const text = typeof textOrConfig === "string" ? textOrConfig : (textOrConfig as { text?: unknown } | undefined)?.text;
  return typeof text === "string" && /^\s*select\b/i.test(text);
};

// The driver's own timeouts (connecting, query_timeout) and the socket's.
const isTimeout = (err: unknown): boolean => err instanceof Error && /timeout|ETIMEDOUT/i.test(err.message);

// A read whose connection was lost (the server restarted, an admin terminated
// it, or the pool handed out a connection that had died while idle) runs once
// more on a fresh one: reading twice is harmless. A write never runs twice, as
// it may have committed before the connection went; nor does anything in a
// transaction, which holds a client of its own and never comes through here;
// nor a read that timed out, having already waited as long as a caller should.
function retryLostReads(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const first = query(...args);
    if (!(first instanceof Promise) || !isRead(args[0])) return first;
    return first.catch((err: unknown) => {
      if (!isConnectionLoss(err) || isTimeout(err)) throw err;
      return query(...args);
    });
  }) as typeof pool.query;
}

export async function openStorage<TSchema extends Record<string, unknown>>(options: OpenStorageOptions<TSchema>): Promise<Storage<TSchema>> {
  const migrationConfig = {
    migrationsFolder: options.migrationsFolder,
    migrationsSchema: "drizzle",
    migrationsTable: `${options.schemaName}_migrations`,
  };
  // A query on a connection the server dropped must fail rather than wait forever:
  // one stuck transaction would hold up every group commit queued behind it.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, connectionTimeoutMillis: 5000, query_timeout: 10_000, keepAlive: true });
  retryLostReads(pool);
  // A dropped connection must not kill the process; the pool reconnects on next use.
  pool.on("error", (err) => options.logger.warn({ err: err.message }, "postgres connection lost"));
  // The pool only watches idle clients; one checked out between two queries of a
  // transaction reports a dropped connection on itself, and unheard it kills the process.
  pool.on("connect", (client) => client.on("error", (err) => options.logger.warn({ err: err.message }, "postgres connection lost mid-use")));
  const db = drizzle(pool, { schema: options.schema });
  // Services sharing a database start together; their migrators would race on
  // CREATE SCHEMA IF NOT EXISTS "drizzle", which Postgres does not make atomic.
  const lock = await pool.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [migrationLockId]);
    await migrate(db, migrationConfig);
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [migrationLockId]).catch(() => undefined);
    lock.release();
  }
  options.logger.info({ schema: options.schemaName }, "postgres migrated");
  return {
    db: db as unknown as Db<TSchema>,
    ping: () => pool.query("select 1").then(() => true, () => false),
    close: () => pool.end(),
  };
}

// Which errors mean a lost or refused Postgres/NATS connection (UNAVAILABLE),
// judged on errors the real drivers throw, as drizzle wraps them; and which are
// bugs (INTERNAL) however database-like they look.
import { JetStreamApiError, jetstream } from "@nats-io/jetstream";
import { connect, errors as natsErrors } from "@nats-io/transport-node";
import { DrizzleQueryError, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isConnectionLoss } from "../../services/shared/connectionLoss.js";
import { freePort, testNatsUrl, testPostgresUrl } from "../harness/mesh.js";

const failure = (promise: Promise<unknown>) => promise.then(() => expect.unreachable("should have failed"), (err: unknown) => err);

describe("Postgres", () => {
  it("a query whose backend is terminated (57P01), and the client left unusable by it", async () => {
    const pool = new pg.Pool({ connectionString: testPostgresUrl, max: 1 });
    pool.on("error", () => undefined);
    const db = drizzle(pool);
    const admin = new pg.Client({ connectionString: testPostgresUrl });
    await admin.connect();
    try {
      const client = await pool.connect();
      client.on("error", () => undefined);
      const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
      client.release();
      const sleeping = failure(db.execute(sql`select pg_sleep(10)`));
      await expect.poll(async () => (await admin.query("select 1 from pg_stat_activity where pid = $1 and state = 'active'", [rows[0]!.pid])).rowCount).toBe(1);
      await admin.query("select pg_terminate_backend($1)", [rows[0]!.pid]);
      const err = await sleeping;
      expect(err).toBeInstanceOf(DrizzleQueryError);
      expect(isConnectionLoss(err)).toBe(true);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  it("a refused connection, a pool that waited too long, and a pool already ended", async () => {
    const refused = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    expect(isConnectionLoss(await failure(drizzle(refused).execute(sql`select 1`)))).toBe(true);
    await refused.end();

    const full = new pg.Pool({ connectionString: testPostgresUrl, max: 1, connectionTimeoutMillis: 50 });
    const held = await full.connect();
    const waited = await failure(full.query("select 1"));
    expect((waited as Error).message).toBe("timeout exceeded when trying to connect");
    expect(isConnectionLoss(waited)).toBe(true);
    held.release();
    await full.end();
    expect(isConnectionLoss(await failure(full.query("select 1")))).toBe(true);
  });

  it.each([
    ["08006", "connection_failure"],
    ["08001", "sqlclient_unable_to_establish_sqlconnection"],
    ["57P03", "cannot_connect_now"],
    ["53300", "too_many_connections"],
  ])("server state %s (%s)", (code) => {
    const err = Object.assign(new pg.DatabaseError("refused", 0, "error"), { code });
    expect(isConnectionLoss(new DrizzleQueryError("select 1", [], err))).toBe(true);
  });

  it("a bug is not: unknown column, constraint violation, bad SQL, a TypeError", async () => {
    const pool = new pg.Pool({ connectionString: testPostgresUrl, max: 1 });
    const db = drizzle(pool);
    try {
      for (const query of [sql`select no_such_column from pg_class`, sql`select 1/0`, sql`selec 1`, sql`select 'x'::int`]) {
        const err = await failure(db.execute(query));
        expect([String((err as Error).cause), isConnectionLoss(err)]).toEqual([String((err as Error).cause), false]);
      }
    } finally {
      await pool.end();
    }
    expect(isConnectionLoss(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isConnectionLoss("Connection terminated")).toBe(false);
  });
});

describe("NATS", () => {
  it("a closed connection, a request nobody answers, a publish with no stream", async () => {
    const nc = await connect({ servers: testNatsUrl });
    try {
      expect(isConnectionLoss(await failure(nc.request(`nobody.${Date.now()}`, "x", { timeout: 200 })))).toBe(true);
      expect(isConnectionLoss(await failure(jetstream(nc).publish(`nostream.${Date.now()}`, "x", { timeout: 200 })))).toBe(true);
    } finally {
      await nc.close();
    }
    expect(isConnectionLoss(await failure(nc.request("any", "x")))).toBe(true);
  });

  it("timeouts and a JetStream answer of 503 are; another JetStream refusal is not", () => {
    expect(isConnectionLoss(new natsErrors.TimeoutError())).toBe(true);
    expect(isConnectionLoss(new natsErrors.RequestError("request failed", { cause: new natsErrors.TimeoutError() }))).toBe(true);
    expect(isConnectionLoss(new JetStreamApiError({ code: 503, err_code: 10039, description: "jetstream system temporarily unavailable" }))).toBe(true);
    expect(isConnectionLoss(new JetStreamApiError({ code: 400, err_code: 10054, description: "message size exceeds maximum allowed" }))).toBe(false);
    expect(isConnectionLoss(new natsErrors.InvalidArgumentError("bad subject"))).toBe(false);
  });
});

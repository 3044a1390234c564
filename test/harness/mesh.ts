// Starts real mesh processes on free ports against a fresh Postgres database
// and an isolated NATS namespace, for integration and end-to-end tests.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import pg from "pg";
import { meshProcesses, spawnProcess, waitHealthy, type ProcessName, type ProcessSource } from "../../tools/mesh/processes.js";

/** Base URL of the Postgres server tests create their databases on. */
export const testPostgresUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const testNatsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/**
 * How long one process may take to become ready. Two meshes starting at once
 * on two busy cores (each process compiling its TypeScript with tsx) can take
 * more than a minute.
 */
const readyTimeoutMs = 120_000;

// A port handed to a child process is free when chosen but bound only once the
// child has started, seconds later. Chosen by listen(0), it came from the
// kernel's ephemeral range (32768 and up), where any outgoing connection or
// another suite's listen(0) could take it first; then the child failed to bind
// while /readyz answered from someone else's server. So ports come from below
// that range, from a block of each vitest worker's own (VITEST_POOL_ID, 0
// outside vitest), counting up so that a file never picks one twice.
// TEST_PORT_BASE moves the blocks, so suites of two checkouts can run at once.
const portBlockSize = 2000;
const portBlockStart = Number(process.env.TEST_PORT_BASE ?? 10_000) + Number(process.env.VITEST_POOL_ID ?? 0) * portBlockSize;
let portOffset = Math.floor(Math.random() * portBlockSize);

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port nothing listens on, that no other test worker and no outgoing connection will take. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < portBlockSize; tries++) {
    const port = portBlockStart + (portOffset++ % portBlockSize);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${portBlockStart}-${portBlockStart + portBlockSize - 1}`);
}

/** Creates an empty database and returns its URL and a function that drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `onering_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: testPostgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: testPostgresUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Deletes every JetStream stream (KV buckets included) of a test's NATS prefix; natsUrl may list a cluster's servers. */
export async function deleteNatsNamespace(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(",") });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.list()) {
      if (stream.config.name.includes(prefix)) await jsm.streams.delete(stream.config.name);
    }
  } finally {
    await nc.close();
  }
}

export interface MeshProcess {
  name: ProcessName;
  url: string;
  port: number;
  child: ChildProcess;
  /** Every log line the process printed, for assertions and failure output. */
  logs: string[];
}

export interface Mesh {
  gatewayUrl: string;
  adminKey: string;
  internalToken: string;
  databaseUrl: string;
  natsUrl: string;
  natsPrefix: string;
  env: NodeJS.ProcessEnv;
  processes: Map<ProcessName, MeshProcess>;
  url(name: ProcessName): string;
  /** Stops one process (SIGTERM, or SIGKILL when asked) and waits for it to exit. */
  stopProcess(name: ProcessName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped process again on the same port. */
  startProcess(name: ProcessName): Promise<void>;
  /**
   * Starts a further replica of a process on its own port, with the mesh's
   * environment plus `env` (e.g. which KeyService replica a gateway calls);
   * `mesh.stop()` stops it too.
   */
  startReplica(name: ProcessName, env?: Record<string, string>): Promise<Replica>;
  stop(): Promise<void>;
}

export interface Replica extends MeshProcess {
  /** Stops the replica (SIGTERM, or SIGKILL when asked) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartMeshOptions {
  /** Extra environment for every process (short backoffs, flags, limits). */
  env?: Record<string, string>;
  /** Which processes to run; default all five. */
  only?: ProcessName[];
  /** One server or a comma-separated list (a cluster's); default the shared test NATS. */
  natsUrl?: string;
  /** Run the TypeScript source (default) or the `npm run build` output, as benchmarks do. */
  source?: ProcessSource;
}

function launch(spec: (typeof meshProcesses)[number], env: NodeJS.ProcessEnv, port: number, logs: string[], source?: ProcessSource): ChildProcess {
  const child = spawnProcess(spec, { ...env, PORT: String(port) }, { source });
  for (const stream of [child.stdout, child.stderr]) stream?.on("data", (chunk: Buffer) => logs.push(...chunk.toString().split("\n").filter(Boolean)));
  return child;
}

export async function startMesh(options: StartMeshOptions = {}): Promise<Mesh> {
  const database = await createTestDatabase();
  const natsUrl = options.natsUrl ?? testNatsUrl;
  const natsPrefix = `t${randomBytes(5).toString("hex")}`;
  const specs = meshProcesses.filter((p) => !options.only || options.only.includes(p.name));
  const ports = new Map<ProcessName, number>();
  for (const spec of meshProcesses) ports.set(spec.name, await freePort());
  const url = (name: ProcessName) => `http://127.0.0.1:${ports.get(name)}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "info",
    DATABASE_URL: database.url,
    NATS_URL: natsUrl,
    ONERING_NATS_PREFIX: natsPrefix,
    ONERING_ADMIN_KEY: `admin_${randomBytes(16).toString("hex")}`,
    ONERING_INTERNAL_TOKEN: randomBytes(24).toString("hex"),
    ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1",
    ONERING_KEY_SERVICE_URL: url("key"),
    ONERING_WEBHOOK_SERVICE_URL: url("webhook"),
    ONERING_METRICS_SERVICE_URL: url("metrics"),
    ...options.env,
  };
  const processes = new Map<ProcessName, MeshProcess>();
  const start = async (name: ProcessName) => {
    const spec = meshProcesses.find((p) => p.name === name)!;
    const logs = processes.get(name)?.logs ?? [];
    const child = launch(spec, env, ports.get(name)!, logs, options.source);
    processes.set(name, { name, url: url(name), port: ports.get(name)!, child, logs });
    try {
      await waitHealthy(url(name), readyTimeoutMs, child);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs.slice(-20).join("\n")}`);
    }
  };
  const stopChild = async (child: ChildProcess | undefined, signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  };
  const stopProcess = (name: ProcessName, signal: NodeJS.Signals = "SIGTERM") => stopChild(processes.get(name)?.child, signal);
  const replicas: Replica[] = [];
  const startReplica = async (name: ProcessName, extraEnv: Record<string, string> = {}): Promise<Replica> => {
    const spec = meshProcesses.find((p) => p.name === name)!;
    const port = await freePort();
    const logs: string[] = [];
    const child = launch(spec, { ...env, ...extraEnv }, port, logs, options.source);
    const replica: Replica = { name, url: `http://127.0.0.1:${port}`, port, child, logs, stop: (signal = "SIGTERM") => stopChild(child, signal) };
    replicas.push(replica);
    try {
      await waitHealthy(replica.url, readyTimeoutMs, child);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs.slice(-20).join("\n")}`);
    }
    return replica;
  };
  const mesh: Mesh = {
    gatewayUrl: url("gateway"),
    adminKey: env.ONERING_ADMIN_KEY!,
    internalToken: env.ONERING_INTERNAL_TOKEN!,
    databaseUrl: database.url,
    natsUrl,
    natsPrefix,
    env,
    processes,
    url,
    stopProcess,
    startProcess: start,
    startReplica,
    stop: async () => {
      await Promise.all([...replicas.map((r) => r.stop()), ...[...processes.keys()].map((name) => stopProcess(name))]);
      await database.drop();
      await deleteNatsNamespace(natsUrl, natsPrefix).catch(() => undefined);
    },
  };
  try {
    await Promise.all(specs.map((spec) => start(spec.name)));
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  return mesh;
}

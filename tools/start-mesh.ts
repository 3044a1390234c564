// `npm start`: the whole mesh on one machine, on embedded defaults: one
// PostgreSQL (unless DATABASE_URL is set), NATS (a private one if none runs),
// and the five processes from their build in dist/.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ConfigError, launcherPorts } from "../services/shared/config.js";
import { startEmbeddedPostgres } from "./mesh/embeddedPostgres.js";
import { natsReachable, natsServerOnPath, startNatsServer } from "./mesh/natsServer.js";
import { stopGuarded } from "./mesh/parentGuard.js";
import { freePortBase, portTaken } from "./mesh/ports.js";
import { meshProcesses, spawnProcess, waitHealthy } from "./mesh/processes.js";
import { Supervisor } from "./mesh/supervisor.js";

const env: NodeJS.ProcessEnv = {
  HOST: "127.0.0.1",
  ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1",
  ...process.env,
  ONERING_ADMIN_KEY: process.env.ONERING_ADMIN_KEY || `admin_${randomBytes(24).toString("base64url")}`,
  ONERING_INTERNAL_TOKEN: process.env.ONERING_INTERNAL_TOKEN || randomBytes(32).toString("base64url"),
};
const natsUrl = env.NATS_URL || "nats://127.0.0.1:4222";
const dataDir = path.resolve(env.ONERING_DATA_DIR || ".data");
const supervisor = new Supervisor();

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

let ports: ReturnType<typeof launcherPorts>;
try {
  ports = launcherPorts(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  fail(err.message);
}

async function refuseTakenPorts(): Promise<void> {
  const taken: number[] = [];
  for (const port of Object.values(ports)) if (await portTaken(port)) taken.push(port);
  if (taken.length === 0) return;
  const base = await freePortBase(9180, Object.keys(ports).length);
  const hint = base === undefined ? "" : `, e.g. ONERING_PORT_BASE=${base} npm start (${base}–${base + 4} are free)`;
  fail(`port ${taken.join(", ")} is already in use (another mesh?).\nStop it, or pick other ports${hint}`);
}

async function ensureNats(): Promise<void> {
  // NATS_URL may list a cluster's servers: one answering is enough, the client fails over.
  if ((await Promise.all(natsUrl.split(",").map((url) => natsReachable(url.trim())))).some(Boolean)) return;
  if (env.NATS_URL || !natsServerOnPath()) {
    fail(`NATS is not reachable at ${natsUrl}.\nStart one with JetStream (nats-server -js), or install nats-server (Debian: apt-get install nats-server) and run npm start again.`);
  }
  const storeDir = path.join(dataDir, "nats");
  process.stdout.write(`starting a private nats-server -js on 127.0.0.1:4222 (store in ${storeDir})\n`);
  const nats = await startNatsServer(4222, storeDir, true);
  supervisor.addBacking("nats-server", nats, () => stopGuarded(nats));
}

/** DATABASE_URL, or the embedded PostgreSQL's when none is set. */
async function ensureDatabase(): Promise<string> {
  if (env.DATABASE_URL) return "DATABASE_URL";
  const postgres = await startEmbeddedPostgres(dataDir);
  supervisor.addBacking("postgres", postgres.child, () => postgres.stop());
  env.DATABASE_URL = postgres.url;
  return `embedded PostgreSQL in ${path.join(dataDir, "postgres")}`;
}

function printWelcome(database: string): void {
  const admin = env.ONERING_ADMIN_KEY;
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const sinkPort = ports.gateway + 1010;
  process.stdout.write(`
OneRing mesh is up.
  gateway   ${gateway}   (REST, Connect, gRPC, gRPC-Web; OpenAPI at /openapi.json)
  console   ${gateway}/console/   (sign in with the admin key below, or an API key)
  key       http://127.0.0.1:${ports.key}
  webhook   http://127.0.0.1:${ports.webhook}   (worker health on :${ports.worker})
  metrics   http://127.0.0.1:${ports.metrics}
  database  ${database}

  export ONERING_ADMIN_KEY=${admin} ONERING_GATEWAY_URL=${gateway}

Try, in another terminal (after the export above):
  curl -s -X POST ${gateway}/v1/admin/external/keys -H "Authorization: Bearer $ONERING_ADMIN_KEY" -H 'Content-Type: application/json' -d '{"name":"demo","tier":"free"}'
  npm run sink -- --port ${sinkPort} &
  npm run smoke -- --backend-url ${gateway} --admin-key "$ONERING_ADMIN_KEY" --webhook-sink http://127.0.0.1:${sinkPort}
  npx buf curl --protocol grpc --http2-prior-knowledge --list-services http://127.0.0.1:${ports.metrics}
  npm run onering -- --url ${gateway} metrics show

Ctrl-C (or SIGTERM) stops everything.
`);
}

async function main(): Promise<void> {
  await refuseTakenPorts();
  await ensureNats();
  const database = await ensureDatabase();
  env.NATS_URL = natsUrl;
  env.ONERING_KEY_SERVICE_URL ??= `http://127.0.0.1:${ports.key}`;
  env.ONERING_WEBHOOK_SERVICE_URL ??= `http://127.0.0.1:${ports.webhook}`;
  env.ONERING_METRICS_SERVICE_URL ??= `http://127.0.0.1:${ports.metrics}`;
  // The three storage services migrate their own schemas and can start together;
  // the worker and the gateway call them, so they come after.
  const startGroup = async (names: string[]) =>
    Promise.all(
      meshProcesses
        .filter((spec) => names.includes(spec.name))
        .map((spec) => {
          const port = ports[spec.name === "webhook-worker" ? "worker" : spec.name];
          const child = spawnProcess(spec, { ...env, PORT: String(port) }, { source: "build", exitWithParent: true });
          supervisor.addService(spec.name, child);
          return waitHealthy(`http://127.0.0.1:${port}`, 60_000, child);
        }),
    );
  await startGroup(["key", "webhook", "metrics"]);
  // A Ctrl-C during start-up must not be followed by more children.
  if (supervisor.stopping) return;
  await startGroup(["webhook-worker", "gateway"]);
  if (!supervisor.stopping) printWelcome(database);
}

process.on("SIGINT", () => void supervisor.stopAll(0));
process.on("SIGTERM", () => void supervisor.stopAll(0));
// npm forwards signals only to the process it started; should npm itself be
// killed, this process is re-parented, and a mesh nobody can stop must not stay behind.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void supervisor.stopAll(0);
}, 500).unref();
main().catch((err: unknown) => {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void supervisor.stopAll(1);
});

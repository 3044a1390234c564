// `npm start`: the whole mesh on one machine, on embedded defaults.
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import net from "node:net";
import { createInterface } from "node:readline";
import { ConfigError, launcherPorts } from "../services/shared/config.js";
import { natsReachable, natsServerOnPath, startNatsServer } from "./mesh/natsServer.js";
import { meshProcesses, spawnProcess, waitHealthy } from "./mesh/processes.js";

const env: NodeJS.ProcessEnv = {
  HOST: "127.0.0.1",
  ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1",
  ...process.env,
  ONERING_ADMIN_KEY: process.env.ONERING_ADMIN_KEY || `admin_${randomBytes(24).toString("base64url")}`,
  ONERING_INTERNAL_TOKEN: process.env.ONERING_INTERNAL_TOKEN || randomBytes(32).toString("base64url"),
};
const natsUrl = env.NATS_URL ?? "nats://127.0.0.1:4222";
let ports: ReturnType<typeof launcherPorts>;
try {
  ports = launcherPorts(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const { child } of [...children].reverse()) child.kill("SIGTERM");
  const exit = setTimeout(() => process.exit(code), 5000);
  exit.unref();
  Promise.all(children.map(({ child }) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once("exit", r)) : null))).then(() => process.exit(code));
}

function supervise(name: string, child: ChildProcess): void {
  children.push({ name, child });
  const prefix = `${name.padEnd(14)} |`;
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${prefix} ${line}\n`));
  }
  // Nothing restarts silently: one process gone stops the mesh, loudly.
  child.once("exit", (code, signal) => {
    if (stopping) return;
    process.stderr.write(`${prefix} exited (${signal ?? code}); stopping the mesh\n`);
    stopAll(1);
  });
}

/** True when something already listens there: starting over it would talk to a stranger's mesh. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
  });
}

async function main(): Promise<void> {
  const taken: number[] = [];
  for (const port of Object.values(ports)) if (await portTaken(port)) taken.push(port);
  if (taken.length > 0) {
    process.stderr.write(
      `port ${taken.join(", ")} is already in use (another mesh?).\nStop it, or pick other ports: ONERING_PORT_BASE=9180 npm start\n`,
    );
    process.exit(1);
  }
  if (!(await natsReachable(natsUrl))) {
    if (env.NATS_URL || !natsServerOnPath()) {
      process.stderr.write(
        `NATS is not reachable at ${natsUrl}.\nStart one with JetStream (nats-server -js), or install nats-server ` +
          `(Debian: apt-get install nats-server) and run npm start again.\n`,
      );
      process.exit(1);
    }
    process.stdout.write("starting a private nats-server -js on 127.0.0.1:4222 (store in .data/nats)\n");
    supervise("nats-server", await startNatsServer(4222, ".data/nats"));
  }
  env.NATS_URL = natsUrl;
  env.ONERING_KEY_SERVICE_URL ??= `http://127.0.0.1:${ports.key}`;
  env.ONERING_WEBHOOK_SERVICE_URL ??= `http://127.0.0.1:${ports.webhook}`;
  env.ONERING_METRICS_SERVICE_URL ??= `http://127.0.0.1:${ports.metrics}`;
  for (const spec of meshProcesses) {
    // A Ctrl-C during start-up must not be followed by more children.
    if (stopping) return;
    const port = ports[spec.name === "webhook-worker" ? "worker" : spec.name];
    const child = spawnProcess(spec, { ...env, PORT: String(port) });
    supervise(spec.name, child);
    // Embedded PGlite migrates slowly on a busy laptop; a minute is not always enough.
    await waitHealthy(`http://127.0.0.1:${port}`, 180_000, child);
  }
  const admin = env.ONERING_ADMIN_KEY;
  process.stdout.write(`
OneRing mesh is up.
  gateway   http://127.0.0.1:${ports.gateway}   (REST, Connect, gRPC, gRPC-Web; OpenAPI at /openapi.json)
  key       http://127.0.0.1:${ports.key}
  webhook   http://127.0.0.1:${ports.webhook}   (worker health on :${ports.worker})
  metrics   http://127.0.0.1:${ports.metrics}

  ONERING_ADMIN_KEY=${admin}

Try:
  curl -s -X POST http://127.0.0.1:${ports.gateway}/v1/admin/external/keys -H 'Authorization: Bearer ${admin}' -H 'Content-Type: application/json' -d '{"name":"demo","tier":"free"}'
  curl -s http://127.0.0.1:${ports.gateway}/v1/admin/flags -H 'Authorization: Bearer ${admin}'
  npx buf curl --protocol grpc --http2-prior-knowledge --list-services http://127.0.0.1:${ports.metrics}
  npm run onering -- --url http://127.0.0.1:${ports.gateway} --admin-key ${admin} metrics show

Ctrl-C stops everything.
`);
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
main().catch((err: unknown) => {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  stopAll(1);
});

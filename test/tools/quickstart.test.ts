// The README quick start as a user runs it: `npm start` on embedded defaults
// (a fresh data directory, so a new embedded PostgreSQL; no DATABASE_URL),
// the commands it prints run as printed, then SIGTERM to npm's own PID stops
// everything; a SIGKILLed launcher leaves no orphan either.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launcherPorts } from "../../services/shared/config.js";
import { freePortBase } from "../../tools/mesh/ports.js";
import { repoRoot } from "../../tools/mesh/processes.js";
import { deleteNatsNamespace, testNatsUrl } from "../harness/mesh.js";
import { processTree, stillRunning } from "../harness/processTree.js";
import { eventually, startSinkProcess, type SinkProcess } from "./toolProcess.js";

const natsPrefix = `tqs${randomBytes(4).toString("hex")}`;
let ports: ReturnType<typeof launcherPorts>;
let dataDir: string;
let sink: SinkProcess | undefined;
const started: ChildProcess[] = [];

interface NpmStart {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` in a process group of its own, as a user's shell would run it, with none of the test's database settings. */
async function npmStart(): Promise<NpmStart> {
  const env: NodeJS.ProcessEnv = { ...process.env, ONERING_DATA_DIR: dataDir, ONERING_NATS_PREFIX: natsPrefix, ONERING_PORT_BASE: String(ports.gateway) };
  for (const name of ["DATABASE_URL", "KEY_DATABASE_URL", "WEBHOOK_DATABASE_URL", "METRICS_DATABASE_URL", "ONERING_ADMIN_KEY", "ONERING_INTERNAL_TOKEN"]) delete env[name];
  const npm = spawn("npm", ["start"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  started.push(npm);
  let output = "";
  for (const stream of [npm.stdout!, npm.stderr!]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
  await eventually(() => {
    if (npm.exitCode !== null) throw new Error(`npm start exited (${npm.exitCode}):\n${output.slice(-3000)}`);
    return output.includes("OneRing mesh is up.");
  }, "npm start to print that the mesh is up", 120_000);
  return { npm, output: () => output, exited };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Every process of the mesh: npm's tree, PostgreSQL's backends included (they leave npm's process group). */
async function meshPids(npm: ChildProcess): Promise<number[]> {
  const tree = await processTree(npm.pid!);
  expect(tree.some((p) => p.cmdline.startsWith("postgres: ")), "PostgreSQL's processes in npm's tree").toBe(true);
  expect(tree.filter((p) => p.cmdline.includes("dist/services/"))).toHaveLength(5);
  return tree.map((p) => p.pid);
}

/** Runs one printed command line in a shell with the printed exports set. */
function runPrinted(line: string, exports: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  const child = spawn("bash", ["-c", line], { cwd: repoRoot, env: { ...process.env, ...exports }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout })));
}

beforeAll(async () => {
  // Five free ports, away from the harness's blocks and the defaults a developer's own mesh may hold.
  const base = await freePortBase(24_080, 5);
  ports = launcherPorts({ ONERING_PORT_BASE: String(base) });
  dataDir = await mkdtemp(path.join(tmpdir(), "onering-quickstart-"));
  // mkdtemp's folder is private (0700); run as root, the server's own user must pass through it.
  await chmod(dataDir, 0o755);
});

afterAll(async () => {
  await sink?.stop();
  for (const npm of started) if (npm.pid) for (const p of await processTree(npm.pid)) process.kill(p.pid, "SIGKILL");
  await deleteNatsNamespace(testNatsUrl, natsPrefix).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start (README quick start)", () => {
  // A first start bundles the console too (seconds idle, far more on a loaded machine); npmStart itself waits up to 120 s.
  it("comes up on a new embedded PostgreSQL, its printed commands pass the smoke test 5/5, and SIGTERM to npm stops it all", async () => {
    const mesh = await npmStart();
    const printed = mesh.output();
    expect(printed).toContain(`embedded PostgreSQL in ${path.join(dataDir, "postgres")}`);
    const exportLine = printed.match(/export (ONERING_ADMIN_KEY=(\S+) ONERING_GATEWAY_URL=(\S+))/)!;
    const exports = { ONERING_ADMIN_KEY: exportLine[2], ONERING_GATEWAY_URL: exportLine[3] };
    expect(exports.ONERING_ADMIN_KEY).toMatch(/^admin_/);
    expect(exports.ONERING_GATEWAY_URL).toBe(`http://127.0.0.1:${ports.gateway}`);
    // The printed console URL serves the console that npm start built into dist/.
    const consoleUrl = printed.match(/^\s+console\s+(\S+)/m)![1]!;
    expect(consoleUrl).toBe(`http://127.0.0.1:${ports.gateway}/console/`);
    const page = await fetch(consoleUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');

    const sinkPort = printed.match(/npm run sink -- --port (\d+) &/)![1]!;
    sink = await startSinkProcess(["--port", sinkPort]);
    const smokeLine = printed.split("\n").find((line) => line.trim().startsWith("npm run smoke"))!;
    const smoke = await runPrinted(smokeLine.trim(), exports);
    expect(smoke.stdout).toContain("Total: 5/5 PASSED");
    expect(smoke.code).toBe(0);

    const pids = await meshPids(mesh.npm);
    const stopAsked = Date.now();
    process.kill(mesh.npm.pid!, "SIGTERM");
    expect(await mesh.exited).toBe(0);
    await eventually(async () => (await stillRunning(pids)).length === 0, "every process of the mesh to exit", 10_000);
    expect(Date.now() - stopAsked).toBeLessThan(10_000);
    for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(false);
  }, 180_000);

  it("starts again on the same data, and a SIGKILLed launcher takes every child with it", async () => {
    const mesh = await npmStart();
    expect(mesh.output()).toContain("OneRing mesh is up.");
    // npm execs into the launcher's shell line, so npm's one child is the launcher itself.
    const launcherPid = await eventually(async () => {
      const children = await runPrinted(`pgrep -P ${mesh.npm.pid}`, {});
      return Number(children.stdout.trim().split("\n")[0]) || undefined;
    }, "the launcher's pid");
    const pids = await meshPids(mesh.npm);
    process.kill(launcherPid, "SIGKILL");
    // Every child stops at once here, not services before the database as on SIGTERM, so a
    // service's shutdown may wait on a peer already gone: bounded by its grace (20 s) plus 5 s.
    await eventually(async () => (await stillRunning(pids)).length === 0, "every process of the mesh to notice its launcher is gone and exit", 30_000);
    for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(false);
  }, 120_000);

  it("npm run sink stops on SIGTERM to npm, leaving nothing behind", async () => {
    const npm = spawn("npm", ["run", "sink", "--", "--port", "0"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    started.push(npm);
    let output = "";
    npm.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes("listening on"), "the sink to listen");
    const pids = (await processTree(npm.pid!)).map((p) => p.pid);
    const exited = new Promise((resolve) => npm.once("exit", resolve));
    process.kill(npm.pid!, "SIGTERM");
    expect(await exited).toBe(0);
    await eventually(async () => (await stillRunning(pids)).length === 0, "the sink's processes to exit", 10_000);
  });
});

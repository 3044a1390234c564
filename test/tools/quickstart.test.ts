// The README quick start as a user runs it: `npm start` on embedded defaults
// (fresh PGlite data, ports 8080–8084), the admin key it prints, a sink, and
// the smoke test → 5/5; then SIGTERM stops every process it started.
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launcherPorts } from "../../services/shared/config.js";
import { deleteNatsNamespace, testNatsUrl } from "../harness/mesh.js";
import { eventually, runTool, startSinkProcess, startTool, type LongRunningTool, type SinkProcess } from "./toolProcess.js";

// ONERING_PORT_BASE only when the machine's defaults are taken on purpose (e.g. a developer's own mesh).
const ports = launcherPorts({ ONERING_PORT_BASE: process.env.TEST_QUICKSTART_PORT_BASE });
const natsPrefix = `tqs${randomBytes(4).toString("hex")}`;
let dataDir: string;
let launcher: LongRunningTool;
let sink: SinkProcess;
let adminKey: string;

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** No process of the launcher's group is alive (the launcher leads its own group). */
function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "onering-quickstart-"));
  const env: NodeJS.ProcessEnv = { ONERING_DATA_DIR: dataDir, ONERING_NATS_PREFIX: natsPrefix, ONERING_PORT_BASE: String(ports.gateway) };
  // What a user's shell would not have set: the launcher generates keys, PGlite needs no URL.
  for (const name of ["DATABASE_URL", "KEY_DATABASE_URL", "WEBHOOK_DATABASE_URL", "METRICS_DATABASE_URL", "ONERING_ADMIN_KEY", "ONERING_INTERNAL_TOKEN"]) env[name] = "";
  launcher = startTool("tools/start-mesh.ts", [], env, { detached: true });
  // A busy port makes the launcher exit at once with its reason, which waitFor reports.
  await launcher.waitFor(/OneRing mesh is up\./, 480_000);
  adminKey = launcher.output().match(/ONERING_ADMIN_KEY=(\S+)/)![1]!;
  sink = await startSinkProcess(["--port", "0"]);
}, 540_000);

afterAll(async () => {
  await sink?.stop();
  await launcher?.stop();
  // Whatever a failed assertion left behind, the group goes.
  if (launcher?.child.pid && !groupGone(launcher.child.pid)) process.kill(-launcher.child.pid, "SIGKILL");
  await deleteNatsNamespace(testNatsUrl, natsPrefix).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start (README quick start)", () => {
  it("prints a generated admin key and serves the smoke test 5/5", async () => {
    expect(adminKey).toMatch(/^admin_/);
    const { code, stdout } = await runTool("tools/smoke/main.ts", ["--backend-url", `http://127.0.0.1:${ports.gateway}`, "--admin-key", adminKey, "--webhook-sink", sink.url]);
    expect(stdout).toContain("Total: 5/5 PASSED");
    expect(code).toBe(0);
  });

  it("stops every process it started on SIGTERM", async () => {
    await launcher.stop();
    expect(launcher.child.exitCode).toBe(0);
    for (const port of Object.values(ports)) expect(await listening(port), `port ${port}`).toBe(false);
    // tsx's esbuild helpers leave when their parent's pipe closes, a moment after it.
    await eventually(() => groupGone(launcher.child.pid!), "every process of the launcher's group to exit", 15_000);
  });
});

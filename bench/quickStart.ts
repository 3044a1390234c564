// What a new user meets: `npm start` exactly as the README runs it (npm, the
// build, the launcher, the embedded PostgreSQL, the five processes), timed from
// the command to the first successful authenticated call, cold on a fresh data
// directory and warm on the same one; then the resident memory of every process
// of it, the database's included, idle after start (goals from issue 16); and
// the gateway of that very mesh against bare node:http (issue 19).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { deleteNatsNamespace, testNatsUrl } from "../test/harness/mesh.js";
import { processTree } from "../test/harness/processTree.js";
import { freePortBase } from "../tools/mesh/ports.js";
import { repoRoot } from "../tools/mesh/processes.js";
import type { Section } from "./section.js";
import { startChildServer } from "./childServer.js";
import { ratio, rounds, roundsTable, type Rounds } from "./compare.js";
import type { BenchSettings } from "./section.js";
import { unreachableLimit } from "./benchMesh.js";
import { formatSpread, spread, table, verdict } from "./stats.js";

const coldGoalSeconds = 10;
const warmGoalSeconds = 5;
const rssGoalMiB = 700;
// Long enough for start-up garbage to be collected and idle database connections to close.
const idleSettleMs = 15_000;
// The measurements of the PGlite launcher on this kind of machine.
const previous = { cold: "29", warm: "13–14", rss: "~3,000 cold, ~1,800 after 5 min" };

interface Started {
  npm: ChildProcess;
  seconds: number;
}

const adminKey = `admin_${randomBytes(16).toString("hex")}`;

async function startMesh(dataDir: string, base: number, prefix: string): Promise<Started> {
  // The one change from a user's defaults: an enterprise key that no load reaches the limit of.
  const env: NodeJS.ProcessEnv = { ...process.env, ONERING_DATA_DIR: dataDir, ONERING_PORT_BASE: String(base), ONERING_NATS_PREFIX: prefix, ONERING_ADMIN_KEY: adminKey, ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit };
  for (const name of ["DATABASE_URL", "KEY_DATABASE_URL", "WEBHOOK_DATABASE_URL", "METRICS_DATABASE_URL"]) delete env[name];
  const startedAt = performance.now();
  const npm = spawn("npm", ["start"], { cwd: repoRoot, env, stdio: "ignore", detached: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}`);
    if (Date.now() > deadline) throw new Error("npm start did not answer an authenticated call within 120 s");
    const ok = await fetch(`http://127.0.0.1:${base}/v1/admin/flags`, { headers: { authorization: `Bearer ${adminKey}` } }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return { npm, seconds: (performance.now() - startedAt) / 1000 };
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stopMesh(npm: ChildProcess): Promise<void> {
  const exited = new Promise((r) => npm.once("exit", r));
  npm.kill("SIGTERM");
  await exited;
}

/** RSS (MiB) of npm's process tree, by what each process is. */
async function treeRss(npmPid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const p of await processTree(npmPid)) {
    const name = processName(p.cmdline);
    byName.set(name, (byName.get(name) ?? 0) + p.rssMiB);
  }
  return byName;
}

function processName(cmdline: string): string {
  if (cmdline.startsWith("/bin/sh") || cmdline === "cat") return "guards (sh, cat)";
  if (cmdline.startsWith("postgres: ") || cmdline.includes("native/bin/postgres")) return "PostgreSQL (all its processes)";
  if (cmdline.includes("--role worker")) return "webhook-worker";
  const service = /dist\/services\/(\w+)\/main\.js/.exec(cmdline)?.[1];
  if (service) return service;
  if (cmdline.includes("start-mesh")) return "launcher";
  if (cmdline.startsWith("npm")) return "npm";
  return cmdline;
}

const gatewayRest = "npm start's gateway REST";
const bare = "bare node:http";

/** The gateway of a running `npm start` against bare node:http, on GET /v1/external/me with an enterprise key. */
async function edgeRounds(base: number, settings: BenchSettings): Promise<Rounds> {
  const created = await fetch(`http://127.0.0.1:${base}/v1/admin/external/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-quickstart", tier: "enterprise" }),
  });
  const { secret } = (await created.json()) as { secret: string };
  const headers = { authorization: `Bearer ${secret}` };
  const bareServer = await startChildServer("bench/bareServer.ts");
  try {
    return await rounds(
      [
        { name: gatewayRest, load: { url: `http://127.0.0.1:${base}/v1/external/me`, headers } },
        { name: bare, load: { url: `http://127.0.0.1:${bareServer.ports.bare}/v1/external/me`, headers } },
      ],
      settings,
    );
  } finally {
    await bareServer.stop();
  }
}

export const quickStartSection: Section = {
  name: "quickstart",
  title: "Quick start (npm start on embedded defaults)",
  async run(settings) {
    const base = (await freePortBase(27_080, 5))!;
    const prefix = `bqs${randomBytes(4).toString("hex")}`;
    const cold: number[] = [];
    const warm: number[] = [];
    let rss = new Map<string, number>();
    let edge: Rounds | undefined;
    try {
      for (let run = 0; run < settings.runs; run++) {
        const dataDir = await mkdtemp(path.join(tmpdir(), "onering-bench-quickstart-"));
        // Run as root, the database's own OS user must pass through mkdtemp's private folder.
        await chmod(dataDir, 0o755);
        try {
          const first = await startMesh(dataDir, base, prefix);
          cold.push(first.seconds);
          await stopMesh(first.npm);
          const again = await startMesh(dataDir, base, prefix);
          warm.push(again.seconds);
          if (run === settings.runs - 1) {
            await new Promise((r) => setTimeout(r, idleSettleMs));
            rss = await treeRss(again.npm.pid!);
            edge = await edgeRounds(base, settings);
          }
          await stopMesh(again.npm);
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      }
    } finally {
      await deleteNatsNamespace(testNatsUrl, prefix).catch(() => undefined);
    }
    const coldSpread = spread(cold);
    const warmSpread = spread(warm);
    const total = [...rss.values()].reduce((a, b) => a + b, 0);
    const rows = [...rss.entries()].sort((a, b) => b[1] - a[1]).map(([name, mib]) => [name, mib.toFixed(0)]);
    return [
      `From \`npm start\` (npm, the build, the launcher, PostgreSQL, five processes) to the first 200 of an authenticated call (\`GET /v1/admin/flags\`), ${settings.runs} runs each; the previous launcher (a PGlite database in each of three processes, run through tsx) beside it.`,
      "",
      table(
        ["measure", "now", "previous (PGlite)", "goal"],
        [
          ["cold start, fresh data directory (s)", formatSpread(coldSpread, 1), previous.cold, `≤ ${coldGoalSeconds}: ${verdict(coldSpread.median <= coldGoalSeconds)}`],
          ["warm start, same data directory (s)", formatSpread(warmSpread, 1), previous.warm, `≤ ${warmGoalSeconds}: ${verdict(warmSpread.median <= warmGoalSeconds)}`],
          ["RSS of the whole mesh idle after start (MiB)", total.toFixed(0), previous.rss, `≤ ${rssGoalMiB}: ${verdict(total <= rssGoalMiB)}`],
        ],
      ),
      "",
      `RSS by process, ${idleSettleMs / 1000} s after a warm start (PostgreSQL's shared memory is counted once per process that touched it, so its figure is an upper bound):`,
      "",
      table(["process", "RSS (MiB)"], rows),
      "",
      `The gateway of that \`npm start\` (defaults but an enterprise limit no load reaches; logs at info), \`GET /v1/external/me\` against bare node:http, ${settings.connections} connections, ${settings.seconds} s per run, ${settings.runs} rounds taking turns:`,
      "",
      edge ? roundsTable(edge) : "(not measured)",
      "",
      edge ? `- npm start's gateway REST / bare: **${ratio(edge, gatewayRest, bare).text}** (goal ≥ 0.5: ${verdict(ratio(edge, gatewayRest, bare).median >= 0.5)})` : "",
    ].join("\n");
  },
};

// The five mesh processes and how to spawn one, shared by `npm start` and the
// test harness so both run exactly what production runs.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parentPipeVariable } from "../../services/shared/parentPipe.js";

/** The repository, whether this module runs from tools/ or from its build in dist-launcher/tools/. */
export const repoRoot = ((): string => {
  let dir = fileURLToPath(new URL(".", import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
})();

export type ProcessName = "key" | "webhook" | "webhook-worker" | "metrics" | "gateway";

export interface ProcessSpec {
  name: ProcessName;
  entry: string;
  args: string[];
  /** Node's own options; deploy/base passes the same ones to the container. */
  nodeArgs?: string[];
}

// A young generation of 16 MiB a semi-space: the gateway allocates a little per
// request, and with Node's default each scavenge came often enough to set its p99
// at half load (bench: 5.7–6.5 ms against 2.8–3.1 ms with it; bare 1.4–1.7).
const gatewayNodeArgs = ["--max-semi-space-size=16"];

/** In start order: the gateway and worker depend on the others. */
export const meshProcesses: ProcessSpec[] = [
  { name: "key", entry: "services/key/main.ts", args: [] },
  { name: "webhook", entry: "services/webhook/main.ts", args: [] },
  { name: "metrics", entry: "services/metrics/main.ts", args: [] },
  { name: "webhook-worker", entry: "services/webhook/main.ts", args: ["--role", "worker"] },
  { name: "gateway", entry: "services/gateway/main.ts", args: [], nodeArgs: gatewayNodeArgs },
];

/**
 * Where a process's code comes from: its TypeScript source through tsx (no
 * build step), or the tsc output of `npm run build` in dist/, as the image and `npm start` run it.
 */
export type ProcessSource = "source" | "build";

export interface SpawnOptions {
  source?: ProcessSource;
  /** The child stops when this process's pipe on its stdin closes, however this process ends. */
  exitWithParent?: boolean;
}

/** Starts one process, by default from its TypeScript entry. */
export function spawnProcess(spec: ProcessSpec, env: NodeJS.ProcessEnv, options: SpawnOptions = {}): ChildProcess {
  const entry = options.source === "build" ? [`dist/${spec.entry.replace(/\.ts$/, ".js")}`] : ["--import", "tsx", spec.entry];
  return spawn(process.execPath, [...(spec.nodeArgs ?? []), ...entry, ...spec.args], {
    cwd: repoRoot,
    env: options.exitWithParent ? { ...env, [parentPipeVariable]: "stdin" } : env,
    stdio: [options.exitWithParent ? "pipe" : "ignore", "pipe", "pipe"],
  });
}

/** Resolves once GET /readyz answers, or rejects after the timeout. */
export async function waitHealthy(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms`);
}

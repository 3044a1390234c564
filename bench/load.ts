// Load from its own process (autocannon's CLI for peak throughput, bench/openLoop.ts
// at a fixed rate), so on a small machine the load generator competes with the
// servers for CPU like an outside client, rather than sharing an event loop with them.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const autocannonCli = fileURLToPath(new URL("../node_modules/autocannon/autocannon.js", import.meta.url));
const openLoop = fileURLToPath(new URL("openLoop.ts", import.meta.url));

export interface LoadSpec {
  url: string;
  seconds: number;
  connections: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Requests per second across all connections (fixed rate, latencies corrected for coordinated omission). */
  rate?: number;
}

export interface LoadResult {
  /** Mean requests/s over the run. */
  rps: number;
  p50: number;
  p99: number;
  total: number;
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  errors: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  statusCodeStats?: Record<string, { count: number }>;
  errors: number;
}

/** Runs a load generator to completion and returns what it printed. */
function runGenerator(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${args[0]} exited with ${code}: ${err.slice(-500)}`))));
  });
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const args = [autocannonCli, "--json", "--no-progress", "-c", String(spec.connections), "-d", String(spec.seconds), "-m", spec.method ?? "GET"];
  for (const [name, value] of Object.entries(spec.headers ?? {})) args.push("-H", `${name}=${value}`);
  if (spec.body !== undefined) args.push("-b", spec.body);
  if (spec.rate !== undefined) args.push("-R", String(spec.rate));
  args.push(spec.url);
  const json = JSON.parse(await runGenerator(args)) as AutocannonJson;
  const statuses = Object.fromEntries(Object.entries(json.statusCodeStats ?? {}).map(([status, { count }]) => [status, count]));
  return { rps: json.requests.average, p50: json.latency.p50, p99: json.latency.p99, total: json.requests.total, statuses, errors: json.errors };
}

/** GET requests sent at `rate` per second whatever the answers; latencies from sending, with sub-millisecond resolution. */
export async function runOpenLoop(spec: LoadSpec & { rate: number }): Promise<LoadResult> {
  const { url, rate, seconds, connections, headers } = spec;
  return JSON.parse(await runGenerator(["--import", "tsx", openLoop, JSON.stringify({ url, rate, seconds, connections, headers })])) as LoadResult;
}

/** Fails when a run saw anything but `expected` statuses, so a broken setup cannot pass as a fast one. */
export function onlyStatuses(name: string, result: LoadResult, expected: string[] = ["200"]): LoadResult {
  const unexpected = Object.entries(result.statuses).filter(([status]) => !expected.includes(status));
  if (unexpected.length > 0 || result.errors > 0 || result.total === 0) {
    throw new Error(`${name}: unexpected responses ${JSON.stringify(result.statuses)}, ${result.errors} errors`);
  }
  return result;
}

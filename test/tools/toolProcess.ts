// Runs the operator tools the way an operator does: as their own processes,
// from their TypeScript entries, with output captured for assertions.
import { spawn, type ChildProcess } from "node:child_process";
import { repoRoot } from "../../tools/mesh/processes.js";

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnTool(entry: string, args: string[], env: NodeJS.ProcessEnv = {}, detached = false): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
}

/** Runs a tool to completion. */
export function runTool(entry: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ToolResult> {
  const child = spawnTool(entry, args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls until check returns something truthy, or fails after the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface LongRunningTool {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the output once it matches, or fails if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts a tool that keeps running (the sink, `metrics watch`, the launcher). */
export function startTool(entry: string, args: string[], env?: NodeJS.ProcessEnv, options: { detached?: boolean } = {}): LongRunningTool {
  const child = spawnTool(entry, args, env, options.detached);
  let output = "";
  for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => output,
    async waitFor(pattern, timeoutMs = 60_000) {
      return eventually(
        () => {
          const match = output.match(pattern);
          if (match) return match;
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`${entry} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${output.slice(-3000)}`);
          }
          return undefined;
        },
        `${entry} to print ${pattern}`,
        timeoutMs,
      );
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

export interface SinkProcess extends LongRunningTool {
  url: string;
}

/** `npm run sink -- …` on a free port; resolves once it listens. */
export async function startSinkProcess(args: string[]): Promise<SinkProcess> {
  const sink = startTool("tools/webhook-sink/main.ts", args);
  const [, url] = await sink.waitFor(/listening on (http:\/\/\S+)\/webhook/);
  return { ...sink, url: url! };
}

/** Calls the gateway's REST surface with a bearer key; throws on a non-2xx answer. */
export async function rest<T = Record<string, unknown>>(url: string, key: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${key}`, ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

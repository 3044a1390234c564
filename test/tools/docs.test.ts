// Every ```sh doc-test block of README.md, docs/RUNBOOK.md and the rollout checklist runs, in order,
// in one bash session per document (like an operator's terminal), against a
// live mesh whose ports replace the documented defaults.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, type ProcessName } from "../../tools/mesh/processes.js";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { rest, startSinkProcess, type SinkProcess } from "./toolProcess.js";

interface DocBlock {
  line: number;
  script: string;
}

/** The fenced `sh doc-test` blocks of a markdown file, dedented (they may sit in a list). */
function docTestBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const match of markdown.matchAll(/^([ \t]*)```sh doc-test\n([\s\S]*?)^\1```$/gm)) {
    const indent = match[1]!.length;
    const line = markdown.slice(0, match.index).split("\n").length;
    blocks.push({ line, script: match[2]!.split("\n").map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join("\n") });
  }
  return blocks;
}

const documentedPorts: Record<string, ProcessName> = { 8080: "gateway", 8081: "key", 8082: "webhook", 8083: "metrics", 8084: "webhook-worker" };

let mesh: Mesh;
let sink: SinkProcess;
let failingSink: SinkProcess;
let env: NodeJS.ProcessEnv;

/** Points the documented local addresses at the test's mesh and sink. */
function localise(script: string): string {
  return script.replace(/\b(localhost|127\.0\.0\.1):(\d{4})\b/g, (whole, _host, port: string) => {
    if (port === "9090") return sink.url.replace("http://", "");
    const name = documentedPorts[port];
    return name ? mesh.url(name).replace("http://", "") : whole;
  });
}

function runBash(script: string): Promise<{ code: number | null; output: string }> {
  const child = spawn("bash", ["-c", script], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, output })));
}

beforeAll(async () => {
  mesh = await startMesh({ env: { ONERING_WEBHOOKS_MAX_ATTEMPTS: "1", ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5" } });
  [sink, failingSink] = await Promise.all([startSinkProcess(["--port", "0"]), startSinkProcess(["--port", "0", "--status", "500"])]);
  // What an incident gives the operator: a leaked secret, a receiver that is down.
  const owner = await rest<{ secret: string }>(`${mesh.gatewayUrl}/v1/admin/external/keys`, mesh.adminKey, { method: "POST", body: { name: "leaked" } });
  const down = await rest<{ webhook: { id: string } }>(`${mesh.gatewayUrl}/v1/external/webhooks`, owner.secret, {
    method: "POST",
    body: { url: `${failingSink.url}/webhook`, event_types: ["rollout.*"] },
  });
  env = {
    ...process.env,
    ONERING_ADMIN_KEY: mesh.adminKey,
    ONERING_GATEWAY_URL: mesh.gatewayUrl,
    LEAKED_KEY: owner.secret,
    WEBHOOK_ID: down.webhook.id,
  };
}, 180_000);
afterAll(async () => {
  await Promise.all([sink?.stop(), failingSink?.stop()]);
  await mesh?.stop();
});

describe.each(["README.md", "docs/RUNBOOK.md", "docs/ROLLOUT_CHECKLIST.md"])("%s", (file) => {
  const blocks = docTestBlocks(readFileSync(path.join(repoRoot, file), "utf8"));

  it("has commands marked for the doc test", () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it("runs every doc-test block, in order, with exit 0", async () => {
    // One session, so a variable set in one block is there in the next, as for an operator.
    const script = ["set -euo pipefail", ...blocks.map((b) => `echo '::: ${file}:${b.line}' >&2\n${localise(b.script)}`)].join("\n");
    const { code, output } = await runBash(script);
    expect(code, output.slice(-4000)).toBe(0);
    expect(output.match(/^::: /gm)).toHaveLength(blocks.length);
  }, 300_000);
});

// npm run bench: every section in turn against real processes on 127.0.0.1,
// then bench/RESULTS.md. Settings come from the environment:
//   BENCH_SECONDS (4) per run, BENCH_RUNS (3, at least 3), BENCH_CONNECTIONS (10),
//   BENCH_SOAK_SECONDS (60), BENCH_SOAK_RATE (1000 req/s), BENCH_ONLY (comma-separated section names),
//   BENCH_NOTE (a line about the conditions, e.g. other work on the machine).
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gatewaySection } from "./gateway.js";
import { grpcUnarySection } from "./grpcUnary.js";
import { describeMachine } from "./machine.js";
import { memorySection } from "./memory.js";
import { backlogDrainSection } from "./backlogDrain.js";
import { noisyNeighbourSection } from "./noisyNeighbour.js";
import { previousRunSection } from "./previousRun.js";
import { quickStartSection } from "./quickStart.js";
import { rateLimitSection } from "./rateLimit.js";
import type { BenchSettings, Section } from "./section.js";
import { tracingSection } from "./tracing.js";
import { transcodingSection } from "./transcoding.js";
import { usageRecordsSection } from "./usageRecords.js";
import { webhooksSection } from "./webhooks.js";

// In run order; a section is one module exporting a Section.
const sections: Section[] = [quickStartSection, gatewaySection, transcodingSection, grpcUnarySection, usageRecordsSection, tracingSection, rateLimitSection, webhooksSection, noisyNeighbourSection, backlogDrainSection, memorySection];

function setting(name: string, fallback: number, min: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of at least ${min}`);
  return value;
}

const settings: BenchSettings = {
  seconds: setting("BENCH_SECONDS", 4, 1),
  runs: setting("BENCH_RUNS", 3, 3),
  connections: setting("BENCH_CONNECTIONS", 10, 1),
  soakSeconds: setting("BENCH_SOAK_SECONDS", 60, 5),
};
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const chosen = sections.filter((s) => !only || only.includes(s.name));

// The mesh runs from the build, as the image runs it: tsx's per-closure name
// helpers and source maps would be measured otherwise.
execFileSync(process.execPath, [fileURLToPath(new URL("../deploy/build-dist.mjs", import.meta.url))], { stdio: "inherit" });

const started = Date.now();
const parts = [
  "# Benchmark results",
  "",
  `Written by \`npm run bench\` on ${new Date().toISOString()}. Medians of ${settings.runs} runs, min–max in parentheses.`,
  "",
  ...(await describeMachine()),
  `- settings: ${settings.seconds} s per run, ${settings.connections} connections, ${settings.soakSeconds} s soak; load from generators in their own processes (autocannon; bench/openLoop.ts for fixed rates)`,
  ...(process.env.BENCH_NOTE ? [`- note: ${process.env.BENCH_NOTE}`] : []),
];
for (const section of chosen) {
  console.log(`bench: ${section.title}`);
  const body = await section.run(settings);
  console.log(body);
  parts.push("", `## ${section.title}`, "", body);
}
parts.push("", `Total time: ${Math.round((Date.now() - started) / 1000)} s.`);
const file = new URL("RESULTS.md", import.meta.url);
parts.push(...previousRunSection(await readFile(file, "utf8").catch(() => undefined)), "");
await writeFile(file, parts.join("\n"));
console.log(`bench: wrote ${file.pathname}`);

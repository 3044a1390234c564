// `npm run smoke -- --backend-url … --admin-key … --webhook-sink …`
import { parseArgs } from "node:util";
import { cleanUp, newState, phases, type SmokeOptions } from "./phases.js";
import { backendBase, sinkUrls } from "./urls.js";

const usage = `usage: npm run smoke -- --backend-url URL --admin-key KEY --webhook-sink URL [--timeout-ms 15000] [--json]

Runs the five phases (backend health, API key creation, external call with
rate-limit headers, webhook subscription, webhook delivery verified at the
sink) and exits non-zero on any failure. Start a sink first: npm run sink.
--webhook-sink takes the sink's base URL or any URL on it (…:9090/webhook).`;

const { values } = parseArgs({
  options: {
    "backend-url": { type: "string", default: process.env.ONERING_GATEWAY_URL ?? "http://127.0.0.1:8080" },
    "admin-key": { type: "string", default: process.env.ONERING_ADMIN_KEY },
    "webhook-sink": { type: "string", default: "http://127.0.0.1:9090" },
    "timeout-ms": { type: "string", default: "15000" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (!values["admin-key"]) {
  process.stderr.write(`--admin-key (or ONERING_ADMIN_KEY) is required\n\n${usage}\n`);
  process.exit(2);
}
let options: SmokeOptions;
try {
  options = {
    backendUrl: backendBase(values["backend-url"]!),
    adminKey: values["admin-key"],
    webhookSink: sinkUrls(values["webhook-sink"]!),
    deliveryTimeoutMs: Number(values["timeout-ms"]),
  };
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
  process.exit(2);
}
const state = newState();
const results: { phase: string; passed: boolean; detail: string }[] = [];
for (const [i, phase] of phases.entries()) {
  if (!values.json) process.stdout.write(`⏳ ${i + 1}/5 ${phase.name}…\r`);
  try {
    results.push({ phase: phase.name, passed: true, detail: await phase.run(options, state) });
  } catch (err) {
    results.push({ phase: phase.name, passed: false, detail: err instanceof Error ? err.message : String(err) });
  }
  const r = results[results.length - 1]!;
  if (!values.json) process.stdout.write(`${r.passed ? "✅" : "❌"} ${i + 1}/5 ${r.phase}: ${r.detail}\n`);
}
await cleanUp(options, state);
const passed = results.filter((r) => r.passed).length;
if (values.json) process.stdout.write(`${JSON.stringify({ passed, total: phases.length, results }, null, 2)}\n`);
else process.stdout.write(`Total: ${passed}/${phases.length} PASSED\n`);
process.exit(passed === phases.length ? 0 : 1);

// `npm run sink -- --port 9090 --secret whsec_…`
import { parseArgs } from "node:util";
import { startSink } from "./sink.js";

const usage = `usage: npm run sink -- [--port 9090] [--secret whsec_…]... [--tolerance-seconds 300]
                       [--fail-rate 0.3] [--status 500] [--delay-ms 0]

Receives webhooks at POST /webhook, verifies Standard Webhooks signatures,
rejects stale timestamps, counts duplicate webhook-ids as replays.
GET /deliveries lists them, DELETE /deliveries clears, GET / is health,
PUT /secrets {"secrets":["whsec_…"]} replaces the secrets.`;

function number(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be a number between ${min} and ${max}, got "${value}"\n${usage}\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    secret: { type: "string", multiple: true },
    "tolerance-seconds": { type: "string" },
    "fail-rate": { type: "string" },
    status: { type: "string" },
    "delay-ms": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const secrets = values.secret ?? [];
if (secrets.some((s) => !s.startsWith("whsec_"))) {
  process.stderr.write(`--secret must be a whsec_… signing secret\n${usage}\n`);
  process.exit(2);
}
const failStatus = number("status", values.status, 500, 100, 599);
const sink = await startSink({
  port: number("port", values.port, 9090, 0, 65535),
  secrets,
  toleranceSeconds: number("tolerance-seconds", values["tolerance-seconds"], Number(process.env.ONERING_WEBHOOKS_REPLAY_WINDOW_SECONDS ?? 300), 1, 86400),
  // --status alone means "always fail with this status".
  failRate: number("fail-rate", values["fail-rate"], values.status ? 1 : 0, 0, 1),
  failStatus,
  delayMs: number("delay-ms", values["delay-ms"], 0, 0, 600_000),
});
process.stdout.write(`webhook sink listening on ${sink.url}/webhook (${secrets.length ? "verifying signatures" : "not verifying: no --secret"})\n`);
const stop = () => void sink.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

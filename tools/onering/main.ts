// `onering`: the admin CLI. Talks to the gateway over Connect with the admin key.
import { ConnectError } from "@connectrpc/connect";
import { parseArgs } from "node:util";
import { reasonOf, reasons, violationsOf } from "../../services/shared/errors.js";
import { commands, UsageError, type CommandName } from "./commands.js";
import { gatewayClient } from "./gatewayClient.js";

const usage = `usage: onering [--url URL] [--admin-key KEY] [--json] <command>

  keys create --name NAME [--tier free|pro|enterprise] [--canary]
  keys list
  keys rotate ID [--grace-seconds N]
  keys revoke ID
  flags get
  flags set NAME on|off
  events publish --type TYPE [--data JSON] [--idempotency-key KEY]
  dead-letters list [--webhook ID]
  dead-letters replay DELIVERY_ID
  dead-letters replay-all [--since ISO_DATE]
  metrics show
  metrics watch [--interval SECONDS]

--url defaults to $ONERING_GATEWAY_URL or http://127.0.0.1:8080;
--admin-key to $ONERING_ADMIN_KEY.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    "admin-key": { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
    name: { type: "string" },
    tier: { type: "string" },
    canary: { type: "boolean" },
    "grace-seconds": { type: "string" },
    type: { type: "string" },
    data: { type: "string" },
    "idempotency-key": { type: "string" },
    webhook: { type: "string" },
    since: { type: "string" },
    interval: { type: "string" },
  },
});

const fail = (message: string, code: number): never => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};

// `onering metrics watch | head`: once the reader has gone there is nothing left to do.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (positionals.length < 2) fail(usage, 2);
const name = `${positionals[0]} ${positionals[1]}` as CommandName;
const command = commands[name];
if (!command) fail(`unknown command "${name}"\n\n${usage}`, 2);
const adminKey = values["admin-key"] ?? process.env.ONERING_ADMIN_KEY;
if (!adminKey) fail("no admin key: pass --admin-key or set ONERING_ADMIN_KEY", 2);

const ctx = {
  client: gatewayClient(values.url ?? process.env.ONERING_GATEWAY_URL ?? "http://127.0.0.1:8080", adminKey!),
  json: values.json ?? false,
  out: (text: string) => process.stdout.write(`${text}\n`),
  progress: (text: string) => process.stderr.write(process.stderr.isTTY ? `\r${text}` : `${text}\n`),
};
try {
  await (command as (c: typeof ctx, o: typeof values, ...args: string[]) => Promise<void>)(ctx, values, ...positionals.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    if (ctx.json) fail(JSON.stringify({ code: "INVALID_ARGUMENT", message: err.message, recovery: "Run onering --help for the commands and their options.", request_id: "" }), 2);
    fail(`${err.message}\n\n${usage}`, 2);
  }
  // The contract's reason (RATE_LIMITED, WEBHOOK_DISABLED, …), each bad field and what to do, as REST callers see them.
  const e = ConnectError.from(err);
  const reason = reasonOf(e);
  const violations = violationsOf(e);
  if (ctx.json) {
    const requestId = e.metadata.get("x-request-id") ?? "";
    fail(JSON.stringify({ code: reason, message: e.rawMessage, recovery: reasons[reason].recovery, request_id: requestId, ...(violations.length > 0 ? { violations } : {}) }), 1);
  }
  fail(`error: ${reason}: ${e.rawMessage}${violations.map((v) => `\n  ${v.field}: ${v.description}`).join("")}\n${reasons[reason].recovery}`, 1);
}

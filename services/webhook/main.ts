// WebhookService process, or with `--role worker` the delivery worker. The
// worker never opens the database (embedded PGlite belongs to one process):
// it works through WebhookService's internal RPCs.
import { parseArgs } from "node:util";
import { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { loadConfig } from "../shared/config.js";
import { openStorage } from "../shared/database.js";
import { requireToken } from "../shared/internalAuth.js";
import type { Logger } from "../shared/logger.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { processMain } from "../shared/processMain.js";
import { serve } from "../shared/server.js";
import * as schema from "./schema.js";

const { values: args } = parseArgs({ options: { role: { type: "string", default: "api" } } });

async function startApi(logger: Logger) {
  const config = loadConfig("webhook");
  const storage = await openStorage({
    service: "webhook",
    schemaName: "webhooks",
    schema,
    migrationsFolder: new URL("./migrations", import.meta.url).pathname,
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
  });
  return serve({
    processName: "webhook",
    config,
    logger,
    metrics: new ProcessMetrics("webhook"),
    services: [WebhookService],
    interceptors: [requireToken([config.internalToken])],
    routes: (router) => router.service(WebhookService, {}),
    readiness: () => storage.ping(),
    onShutdown: () => storage.close(),
  });
}

async function startWorker(logger: Logger) {
  const config = loadConfig("webhook", process.env, "worker");
  return serve({
    processName: "webhook-worker",
    config,
    logger,
    metrics: new ProcessMetrics("webhook-worker"),
    services: [],
  });
}

if (args.role === "worker") processMain("webhook-worker", startWorker);
else if (args.role === "api") processMain("webhook", startApi);
else {
  process.stderr.write(`webhook: --role must be "api" or "worker", got "${args.role}"\n`);
  process.exit(2);
}

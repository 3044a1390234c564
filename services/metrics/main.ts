// MetricsService process: rollups of usage and delivery outcomes, alerts.
import { MetricsService } from "../../gen/onering/v1/metrics_pb.js";
import { loadConfig } from "../shared/config.js";
import { openStorage } from "../shared/database.js";
import { requireToken } from "../shared/internalAuth.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { processMain } from "../shared/processMain.js";
import { serve } from "../shared/server.js";
import * as schema from "./schema.js";

processMain("metrics", async (logger) => {
  const config = loadConfig("metrics");
  const storage = await openStorage({
    service: "metrics",
    schemaName: "metrics",
    schema,
    migrationsFolder: new URL("./migrations", import.meta.url).pathname,
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
  });
  return serve({
    processName: "metrics",
    config,
    logger,
    metrics: new ProcessMetrics("metrics"),
    services: [MetricsService],
    // Ops call it directly with the admin key; the gateway with the internal token.
    interceptors: [requireToken([config.internalToken, config.adminKey])],
    routes: (router) => router.service(MetricsService, {}),
    readiness: () => storage.ping(),
    onShutdown: () => storage.close(),
  });
});

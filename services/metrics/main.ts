// MetricsService process: rollups of usage and delivery outcomes, alerts.
import "../shared/tickShape.js";
import { KeyService } from "../../gen/onering/v1/key_pb.js";
import { MetricsService } from "../../gen/onering/v1/metrics_pb.js";
import { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { loadConfig, requireDatabaseUrl } from "../shared/config.js";
import { openStorage } from "../shared/database.js";
import { errorBoundary } from "../shared/errorBoundary.js";
import { requestRules } from "../shared/requestRules.js";
import { requireToken } from "../shared/internalAuth.js";
import { createInternalClient } from "../shared/internalClient.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { connectNats } from "../shared/nats.js";
import { processMain } from "../shared/processMain.js";
import { serve } from "../shared/server.js";
import { implementation } from "../shared/implementation.js";
import { createMetricsService } from "./metricsService.js";
import { RollupConsumer } from "./rollupConsumer.js";
import * as schema from "./schema.js";

processMain("metrics", async (logger) => {
  const config = loadConfig("metrics");
  const storage = await openStorage({
    schemaName: "metrics",
    schema,
    migrationsFolder: new URL("./migrations", import.meta.url).pathname,
    databaseUrl: requireDatabaseUrl(config),
    logger,
  });
  const nc = await connectNats(config.natsUrl, "metrics", logger);
  const rollups = await RollupConsumer.start(nc, config.natsPrefix, config.natsReplicas, storage.db, logger);
  const internal = { internalToken: config.internalToken };
  const service = createMetricsService({
    config,
    db: storage.db,
    keys: createInternalClient(KeyService, { ...internal, baseUrl: config.serviceUrls.key }),
    webhooks: createInternalClient(WebhookService, { ...internal, baseUrl: config.serviceUrls.webhook }),
  });
  return serve({
    processName: "metrics",
    config,
    logger,
    metrics: new ProcessMetrics("metrics"),
    implementations: [implementation(MetricsService, service)],
    // Ops call it directly with the admin key; the gateway with the internal token.
    interceptors: [requireToken([config.internalToken, config.adminKey]), errorBoundary(logger), requestRules()],
    readiness: () => storage.ping(),
    onShutdown: async () => {
      await rollups.stop();
      await nc.drain();
      await storage.close();
    },
  });
});

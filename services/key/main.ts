// KeyService process: API keys, verification and rate-limit counters.
import "../shared/tickShape.js";
import { KeyService } from "../../gen/onering/v1/key_pb.js";
import { loadConfig, requireDatabaseUrl } from "../shared/config.js";
import { openStorage } from "../shared/database.js";
import { errorBoundary } from "../shared/errorBoundary.js";
import { requestRules } from "../shared/requestRules.js";
import { requireToken } from "../shared/internalAuth.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { connectNats } from "../shared/nats.js";
import { processMain } from "../shared/processMain.js";
import { serve } from "../shared/server.js";
import { implementation } from "../shared/implementation.js";
import { publishKeyChange } from "../shared/keyChanges.js";
import { createKeyHandlers } from "./keyHandlers.js";
import { KeyStore } from "./keyStore.js";
import * as schema from "./schema.js";

processMain("key", async (logger) => {
  const config = loadConfig("key");
  const storage = await openStorage({
    schemaName: "keys",
    schema,
    migrationsFolder: new URL("./migrations", import.meta.url).pathname,
    databaseUrl: requireDatabaseUrl(config),
    logger,
  });
  const nc = await connectNats(config.natsUrl, "key", logger);
  const handlers = createKeyHandlers({
    store: new KeyStore(storage.db),
    limits: config.rateLimits,
    logger,
    keyChanged: (keyId) => publishKeyChange(nc, config.natsPrefix, keyId),
  });
  return serve({
    processName: "key",
    config,
    logger,
    metrics: new ProcessMetrics("key"),
    implementations: [implementation(KeyService, handlers)],
    interceptors: [requireToken([config.internalToken]), errorBoundary(logger), requestRules()],
    readiness: () => storage.ping(),
    onShutdown: async () => {
      await nc.drain();
      await storage.close();
    },
  });
});

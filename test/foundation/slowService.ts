// A process built like every mesh process (processMain, loadConfig, serve())
// around a fake KeyService whose GetKey takes SLOW_MS (default 1000 ms), so a
// test can hold requests in flight while the process is told to stop.
import { KeyService } from "../../gen/onering/v1/key_pb.js";
import { loadConfig } from "../../services/shared/config.js";
import { implementation } from "../../services/shared/implementation.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { processMain } from "../../services/shared/processMain.js";
import { serve } from "../../services/shared/server.js";

const slowMs = Number(process.env.SLOW_MS ?? 1000);

processMain("slow-service", async (logger) => {
  const config = loadConfig("key");
  const keys = implementation(KeyService, {
    getKey: async (req) => {
      logger.info({ id: req.id }, "slow call started");
      await new Promise((r) => setTimeout(r, slowMs));
      return { key: { id: req.id } };
    },
  });
  return serve({ processName: "slow-service", config, logger, metrics: new ProcessMetrics("slow-service"), implementations: [keys] });
});

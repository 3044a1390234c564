// Gateway process: the public edge (REST, Connect, gRPC, gRPC-Web).
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { loadConfig } from "../shared/config.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { processMain } from "../shared/processMain.js";
import { serve } from "../shared/server.js";

processMain("gateway", async (logger) => {
  const config = loadConfig("gateway");
  return serve({
    processName: "gateway",
    config,
    logger,
    metrics: new ProcessMetrics("gateway"),
    services: [GatewayService],
    routes: (router) => router.service(GatewayService, {}),
  });
});

// Gateway process: the public edge (REST, Connect, gRPC, gRPC-Web).
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { loadConfig } from "../shared/config.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { processMain } from "../shared/processMain.js";
import { serve } from "../shared/server.js";
import { createTranscoder, transcodedService } from "../shared/transcoding/transcoder.js";
import { gatewayOpenApiInfo } from "./openapiInfo.js";

processMain("gateway", async (logger) => {
  const config = loadConfig("gateway");
  const impl = {};
  const metrics = new ProcessMetrics("gateway");
  // REST runs the same implementation and interceptors as Connect, plus the metrics one serve() adds.
  const interceptors = [metrics.interceptor()];
  const rest = createTranscoder({
    services: [transcodedService(GatewayService, impl)],
    interceptors,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    openapi: { ...gatewayOpenApiInfo, path: "/openapi.json" },
  });
  return serve({
    processName: "gateway",
    config,
    logger,
    metrics,
    services: [GatewayService],
    routes: (router) => router.service(GatewayService, impl),
    httpHandler: rest.handle,
  });
});

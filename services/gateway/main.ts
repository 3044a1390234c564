// Gateway process: the public edge (REST, Connect, gRPC, gRPC-Web).
import "../shared/tickShape.js";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { KeyService } from "../../gen/onering/v1/key_pb.js";
import { MetricsService } from "../../gen/onering/v1/metrics_pb.js";
import { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { loadConfig } from "../shared/config.js";
import { errorBoundary } from "../shared/errorBoundary.js";
import { RequestRules, requestRules } from "../shared/requestRules.js";
import { createInternalClient } from "../shared/internalClient.js";
import { subscribeKeyChanges } from "../shared/keyChanges.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { connectNats } from "../shared/nats.js";
import { processMain } from "../shared/processMain.js";
import { RuntimeFlags } from "../shared/runtimeFlags.js";
import { serve, serverInterceptors } from "../shared/server.js";
import { createTranscoder } from "../shared/transcoding/transcoder.js";
import { tracingEnabled } from "../shared/tracing.js";
import { implementation } from "../shared/implementation.js";
import { ensureUsageStream, UsagePublishers } from "../shared/usageStream.js";
import { consoleHandler } from "./consoleAssets.js";
import { createGateway } from "./gatewayService.js";
import { gatewayOpenApiInfo } from "./openapiInfo.js";
import { gatewayRestCalls } from "./restCalls.js";

processMain("gateway", async (logger) => {
  const config = loadConfig("gateway");
  const metrics = new ProcessMetrics("gateway");
  const nc = await connectNats(config.natsUrl, "gateway", logger);
  const flags = await RuntimeFlags.open(nc, `${config.natsPrefix}_flags`, config.natsReplicas, config.flags, logger);
  await ensureUsageStream(nc, config.natsPrefix, config.natsReplicas);
  const usage = new UsagePublishers(nc, config.natsPrefix, metrics.registry, logger);
  const internal = { internalToken: config.internalToken };
  const gateway = createGateway({
    adminKey: config.adminKey,
    flags,
    clients: {
      key: createInternalClient(KeyService, { baseUrl: config.serviceUrls.key, ...internal }),
      webhook: createInternalClient(WebhookService, { baseUrl: config.serviceUrls.webhook, ...internal }),
      metrics: createInternalClient(MetricsService, { baseUrl: config.serviceUrls.metrics, ...internal }),
    },
    logger,
    registry: metrics.registry,
    usage: config.usageRecordsEnabled ? usage.requests : undefined,
  });
  subscribeKeyChanges(nc, config.natsPrefix, (keyId) => gateway.keyChanged(keyId));
  const implementations = [implementation(GatewayService, gateway.impl)];
  const rules = new RequestRules();
  const interceptors = [...gateway.interceptors, errorBoundary(logger), requestRules(rules)];
  // REST runs the same implementation and checks as Connect: in one flat pass,
  // or, with tracing on, through the interceptors serve() runs, spans included.
  const rest = createTranscoder({
    services: implementations,
    interceptors: serverInterceptors(metrics, interceptors),
    invoke: tracingEnabled() ? undefined : gatewayRestCalls({ gate: gateway.gate, rules, metrics, logger }),
    maxBodyBytes: config.maxBodyBytes,
    logger,
    openapi: { ...gatewayOpenApiInfo, path: "/openapi.json" },
  });
  const serveConsole = consoleHandler(logger);
  return serve({
    processName: "gateway",
    config,
    logger,
    metrics,
    implementations,
    interceptors,
    httpHandler: (req, res, requestId) => serveConsole(req, res, requestId) || rest.handle(req, res, requestId),
    // The gateway's port is public: Prometheus scrapes ONERING_METRICS_PORT, anyone else needs the admin key.
    metricsKey: config.adminKey,
    onShutdown: async () => {
      await gateway.close();
      await usage.close();
      await nc.drain();
    },
  });
});

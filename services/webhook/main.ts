// WebhookService process, or with `--role worker` the delivery worker, which
// works straight on the same schema (no RPC per attempt).
import "../shared/tickShape.js";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { parseArgs } from "node:util";
import { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { loadConfig, requireDatabaseUrl, type MeshConfig } from "../shared/config.js";
import { openStorage } from "../shared/database.js";
import { errorBoundary } from "../shared/errorBoundary.js";
import { requestRules } from "../shared/requestRules.js";
import { requireToken } from "../shared/internalAuth.js";
import type { Logger } from "../shared/logger.js";
import { ProcessMetrics } from "../shared/metrics.js";
import { connectNats } from "../shared/nats.js";
import { processMain } from "../shared/processMain.js";
import { RuntimeFlags } from "../shared/runtimeFlags.js";
import { serve } from "../shared/server.js";
import { implementation } from "../shared/implementation.js";
import { ensureUsageStream, UsagePublishers } from "../shared/usageStream.js";
import { WebhookApiMetrics } from "./apiMetrics.js";
import { ensureDeliveryStream, ensureWorkerConsumer } from "./deliveryJobs.js";
import { DeliveryStore } from "./deliveryStore.js";
import { EventStore } from "./eventStore.js";
import { OutboxRelay } from "./outboxRelay.js";
import * as schema from "./schema.js";
import { WebhookStore } from "./webhookStore.js";
import { webhookHandlers } from "./webhookHandlers.js";
import { DeliveryWorker, workerConsumer } from "./worker/deliveryWorker.js";
import { WorkerMetrics } from "./worker/workerMetrics.js";
import { workerStore } from "./worker/workerStore.js";

const { values: args } = parseArgs({ options: { role: { type: "string", default: "api" } } });

function openWebhookStorage(config: MeshConfig, logger: Logger) {
  return openStorage({
    schemaName: "webhooks",
    schema,
    migrationsFolder: new URL("./migrations", import.meta.url).pathname,
    databaseUrl: requireDatabaseUrl(config),
    logger,
  });
}

async function startApi(logger: Logger) {
  const config = loadConfig("webhook");
  const storage = await openWebhookStorage(config, logger);
  const nc = await connectNats(config.natsUrl, "webhook", logger);
  const flags = await RuntimeFlags.open(nc, `${config.natsPrefix}_flags`, config.natsReplicas, config.flags, logger);
  await ensureDeliveryStream(await jetstreamManager(nc), config);
  const deliveries = new DeliveryStore(storage.db);
  const relay = new OutboxRelay(jetstream(nc), deliveries, config, logger);
  relay.start();
  const metrics = new ProcessMetrics("webhook");
  await ensureUsageStream(nc, config.natsPrefix, config.natsReplicas);
  const usage = new UsagePublishers(nc, config.natsPrefix, metrics.registry, logger);
  const handlers = webhookHandlers({
    db: storage.db,
    webhooks: new WebhookStore(storage.db),
    events: new EventStore(storage.db, config.webhooks.replayWindowSeconds),
    deliveries,
    relay,
    flags,
    config,
    metrics: new WebhookApiMetrics(metrics.registry, usage.webhooks),
    logger,
  });
  return serve({
    processName: "webhook",
    config,
    logger,
    metrics,
    implementations: [implementation(WebhookService, handlers)],
    interceptors: [requireToken([config.internalToken]), errorBoundary(logger), requestRules()],
    readiness: () => storage.ping(),
    onShutdown: async () => {
      await relay.stop();
      await usage.close();
      await nc.drain();
      await storage.close();
    },
  });
}

async function startWorker(logger: Logger) {
  const config = loadConfig("webhook", process.env, "worker");
  const storage = await openWebhookStorage(config, logger);
  const nc = await connectNats(config.natsUrl, "webhook-worker", logger);
  const flags = await RuntimeFlags.open(nc, `${config.natsPrefix}_flags`, config.natsReplicas, config.flags, logger);
  const jsm = await jetstreamManager(nc);
  await ensureDeliveryStream(jsm, config);
  await ensureWorkerConsumer(jsm, config);
  const js = jetstream(nc);
  const metrics = new ProcessMetrics("webhook-worker");
  await ensureUsageStream(nc, config.natsPrefix, config.natsReplicas);
  const usage = new UsagePublishers(nc, config.natsPrefix, metrics.registry, logger);
  const relay = new OutboxRelay(js, new DeliveryStore(storage.db), config, logger);
  const worker = new DeliveryWorker({ store: workerStore(storage.db, config), relay, config, flags, logger, metrics: new WorkerMetrics(metrics.registry, usage.webhooks) });
  worker.start(await workerConsumer(js, config));
  return serve({
    processName: "webhook-worker",
    config,
    logger,
    metrics,
    implementations: [],
    readiness: async () => worker.ready && (await storage.ping()),
    onShutdown: async () => {
      await worker.stop();
      await relay.stop();
      await usage.close();
      await nc.drain();
      await storage.close();
    },
  });
}

if (args.role === "worker") processMain("webhook-worker", startWorker);
else if (args.role === "api") processMain("webhook", startApi);
else {
  process.stderr.write(`webhook: --role must be "api" or "worker", got "${args.role}"\n`);
  process.exit(2);
}

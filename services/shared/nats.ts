// The NATS connection every process holds: it retries forever, so a NATS
// restart is an outage to ride out, never a crash. On a cluster it fails over
// to another server: those listed in NATS_URL, and those the servers announce.
import { connect, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "./logger.js";

export type { NatsConnection };

/** `url` is one server or a comma-separated list (MeshConfig.natsUrl). */
export async function connectNats(url: string, name: string, logger: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    // Otherwise every request, each JetStream publish included, captures a stack
    // trace up front in case it fails: ~3% of the WebhookService's CPU per event.
    noAsyncTraces: true,
  });
  logger.info({ server: nc.getServer() }, "nats connected");
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnect") logger.warn({ nats: status.type }, `nats ${status.type}`);
    }
  })();
  return nc;
}

/**
 * Runs a JetStream set-up step (creating a stream, the flags bucket, a consumer,
 * reading a first value), retrying when it times out. On a cluster, of several
 * processes creating the same stream at once only one gets an answer; the others
 * time out although the stream now exists (nats-server#3677), and a replica still
 * joining a new stream can leave a read unanswered. Both pass within moments, so
 * a start-up should not fail on them.
 */
export async function retryTimeouts<T>(step: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= attempts || !(err instanceof TimeoutError)) throw err;
    }
  }
}

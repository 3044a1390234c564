// WebhookService over gRPC as the gateway calls it: internal token, and the
// owning API key id in `x-onering-owner` for webhook calls.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { createInternalClient } from "../../services/shared/internalClient.js";
import { createLogger } from "../../services/shared/logger.js";
import { RuntimeFlags } from "../../services/shared/runtimeFlags.js";
import type { Mesh } from "../harness/mesh.js";

export function webhookClient(mesh: Mesh) {
  return createInternalClient(WebhookService, { baseUrl: mesh.url("webhook"), internalToken: mesh.internalToken, timeoutMs: 15_000 });
}

export const asOwner = (owner: string) => ({ headers: { "x-onering-owner": owner } });

/** The mesh's runtime flags, flipped the way the flags API does (a KV write). */
export async function meshFlags(mesh: Mesh): Promise<{ flags: RuntimeFlags; close: () => Promise<void> }> {
  const nc = await connect({ servers: mesh.natsUrl.split(",") });
  const flags = await RuntimeFlags.open(
    nc,
    `${mesh.natsPrefix}_flags`,
    Number(mesh.env.ONERING_NATS_REPLICAS ?? 1),
    { external_api_enabled: true, external_api_canary_only: false, webhooks_enabled: true, webhooks_delivery_enabled: true },
    createLogger("test"),
  );
  return { flags, close: () => nc.close() };
}

/** The worker consumer's state: jobs not yet delivered to a worker, and delivered but unacknowledged. */
export async function consumerInfo(mesh: Mesh) {
  const nc = await connect({ servers: mesh.natsUrl.split(",") });
  try {
    const jsm = await jetstreamManager(nc);
    return await jsm.consumers.info(`${mesh.natsPrefix}_webhook_deliveries`, `${mesh.natsPrefix}_webhook_worker`);
  } finally {
    await nc.close();
  }
}

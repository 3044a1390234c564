// What a replay tells its caller about deliveries it left as they were (their
// webhook disabled or deleted): one replay fails with WEBHOOK_DISABLED, a bulk
// replay counts them per webhook, so nothing is skipped silently.
import { create } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { ReplaySkippedSchema, type ReplaySkipped } from "../../gen/onering/v1/webhook_pb.js";
import { meshError } from "../shared/errors.js";
import type { SkippedDelivery } from "./deliveryStore.js";

export function webhookDisabled(skipped: SkippedDelivery): ConnectError {
  const why = skipped.reason === "webhook_deleted" ? "was deleted" : `is disabled${skipped.disabledReason ? ` (${skipped.disabledReason})` : ""}`;
  return meshError("WEBHOOK_DISABLED", `delivery ${skipped.id} was not replayed and is unchanged: webhook ${skipped.webhookId} ${why}`);
}

/** One entry per webhook, in the order they were first met. */
export function skippedByWebhook(skipped: SkippedDelivery[]): ReplaySkipped[] {
  const byWebhook = new Map<string, ReplaySkipped>();
  for (const { webhookId, reason } of skipped) {
    let entry = byWebhook.get(webhookId);
    if (!entry) byWebhook.set(webhookId, (entry = create(ReplaySkippedSchema, { webhookId: webhookId, reason })));
    entry.count++;
  }
  return [...byWebhook.values()];
}

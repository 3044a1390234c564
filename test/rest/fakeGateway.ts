// A fake GatewayService implementation (the collaborator a unit test may fake):
// it records each call and answers with a fixed, fully populated response, so
// REST, Connect and gRPC results can be compared field by field.
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";

export interface RecordedCall {
  method: string;
  request: MessageShape<DescMessage>;
  context: HandlerContext;
}

const at = timestampFromDate(new Date("2026-01-02T03:04:05.678Z"));
const key = { id: "key_1", name: "ci", tier: "pro", canary: true, prefix: "sk_live_ab", createTime: at, usageCount: 12n, rateLimitPerHour: 1000n, metadata: { team: "a" } };
const webhook = { id: "wh_1", url: "https://example.com/hook", eventTypes: ["invoice.*"], enabled: true, createTime: at };
const delivery = { id: "dl_1", eventId: "ev_1", eventType: "invoice.paid", webhookId: "wh_1", status: "dead_letter", attemptCount: 3, attempts: [{ number: 1, statusCode: 500, durationMs: 12n, attemptTime: at }] };

/** A fixed response per method, in the init shape Connect implementations return. */
export const fakeResponses: Record<string, object> = {
  getMe: { id: "key_1", name: "ci", tier: "pro", canary: false, limit: 1000n, remaining: 999n, reset: 1767323045n, usageCount: 5n },
  createWebhook: { webhook, secret: "whsec_abc" },
  listWebhooks: { webhooks: [webhook], nextPageToken: "next" },
  getWebhook: { webhook },
  updateWebhook: { webhook },
  deleteWebhook: {},
  rotateWebhookSecret: { webhook, secret: "whsec_new", previousSecretExpireTime: at },
  testWebhook: { delivery },
  listDeliveries: { deliveries: [delivery] },
  createKey: { key, secret: "sk_live_secret" },
  listKeys: { keys: [key] },
  getKey: { key },
  updateKey: { key },
  revokeKey: { key },
  rotateKey: { key, secret: "sk_live_new", previousSecretExpireTime: at },
  publishEvent: { event: { id: "ev_1", type: "invoice.paid", data: { fields: { amount: { kind: { case: "numberValue", value: 12.5 } } } }, createTime: at }, replayed: true, deliveryCount: 2 },
  listDeadLetters: { deadLetters: [delivery] },
  replayDelivery: { delivery },
  replayDeadLetters: { replayedCount: 4 },
  listEndpoints: { endpoints: [{ webhook, ownerKeyId: "key_1" }] },
  listFlags: { flags: [{ name: "webhooks_enabled", enabled: false, updateTime: at, updatedBy: "admin" }] },
  setFlag: { flag: { name: "webhooks_enabled", enabled: true } },
  listFlagChanges: { changes: [{ name: "webhooks_enabled", enabled: true, updateTime: at, updatedBy: "admin (ada)" }] },
  getExternalMetrics: { windowSeconds: 3600n, requestsTotal: 10n },
  getWebhookMetrics: { windowSeconds: 86400n, delivered: 3n },
  listApiKeyInventory: {},
  getMinuteSeries: {},
};

/** Builds the fake; `override` replaces single methods (to throw, or to call out). */
export function fakeGateway(override: Partial<Record<string, (req: never, ctx: HandlerContext) => unknown>> = {}) {
  const calls: RecordedCall[] = [];
  const impl = Object.fromEntries(
    GatewayService.methods.map((method) => [
      method.localName,
      async (request: MessageShape<DescMessage>, context: HandlerContext) => {
        calls.push({ method: method.name, request, context });
        const custom = override[method.localName];
        if (custom) return custom(request as never, context);
        return create(method.output, fakeResponses[method.localName] as never);
      },
    ]),
  ) as unknown as ServiceImpl<typeof GatewayService>;
  return { impl, calls };
}

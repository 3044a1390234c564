// GatewayService handlers. The edge interceptor has already authenticated and
// rate-limited the call; handlers read the caller from `ctx.values` and pass
// the request on to the internal service that owns it (GetMe excepted).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { FlagSchema, GatewayService, GetMeResponseSchema, ListFlagChangesResponseSchema, ListFlagsResponseSchema, SetFlagResponseSchema } from "../../gen/onering/v1/gateway_pb.js";
import type { KeyService } from "../../gen/onering/v1/key_pb.js";
import type { MetricsService } from "../../gen/onering/v1/metrics_pb.js";
import type { WebhookService } from "../../gen/onering/v1/webhook_pb.js";
import { invalidArgument } from "../shared/errors.js";
import { causedBy } from "../shared/internalClient.js";
import { requestIdOf } from "../shared/requestId.js";
import { jsonDepthViolations } from "../shared/jsonDepth.js";
import { flagNames, isFlagName, type FlagState, type RuntimeFlags } from "../shared/runtimeFlags.js";
import { apiKeyCaller, callerKey } from "./caller.js";
import { forwarded } from "./internalErrors.js";

export interface InternalClients {
  key: Client<typeof KeyService>;
  webhook: Client<typeof WebhookService>;
  metrics: Client<typeof MetricsService>;
}

/** WebhookService acts for the API key named in this header. */
export const ownerHeader = "x-onering-owner";

/** Names who flipped a flag in its audit list (the console sends the operator's name); there is one admin key, so it is a label, not an identity. */
export const operatorHeader = "x-onering-operator";

function flipAuthor(header: Headers): string {
  const operator = header.get(operatorHeader)?.replace(/[^\w .@-]/g, "").trim().slice(0, 64);
  return operator ? `admin (${operator})` : "admin";
}

const toFlag = (state: FlagState) =>
  create(FlagSchema, {
    name: state.name,
    enabled: state.enabled,
    updateTime: state.updatedAt && timestampFromDate(state.updatedAt),
    updatedBy: state.updatedBy ?? "",
  });

export function createGatewayHandlers(clients: InternalClients, flags: RuntimeFlags, keyChanged: (keyId: string) => void): ServiceImpl<typeof GatewayService> {
  const { key, webhook, metrics } = clients;
  const keys = <T>(call: Promise<T>) => forwarded(call, "KeyService");
  // This gateway forgets a key it changed before answering, rather than when
  // KeyService's change notice arrives, so the admin's next call sees the change here.
  const changing = async <T>(id: string, call: Promise<T>) => {
    const res = await keys(call);
    keyChanged(id);
    return res;
  };
  const webhooks = <T>(call: Promise<T>) => forwarded(call, "WebhookService");
  const monitoring = <T>(call: Promise<T>) => forwarded(call, "MetricsService");
  // Webhook calls act for the calling key only; WebhookService scopes by this header.
  const asOwner = (ctx: HandlerContext) => causedBy(ctx.requestHeader, { [ownerHeader]: apiKeyCaller(ctx.values.get(callerKey)).key.id });

  return {
    // Answered from what the edge already holds (verified key, lease, usage
    // tally), so an authenticated, rate-limited call makes no internal round trip.
    getMe(_req, ctx) {
      const { key: cached, quota, usageCount } = apiKeyCaller(ctx.values.get(callerKey));
      return create(GetMeResponseSchema, {
        id: cached.id,
        name: cached.name,
        tier: cached.tier,
        canary: cached.canary,
        limit: BigInt(quota.limit),
        remaining: BigInt(quota.remaining),
        reset: BigInt(quota.reset),
        usageCount,
      });
    },

    createWebhook: (req, ctx) => webhooks(webhook.createWebhook(req, asOwner(ctx))),
    listWebhooks: (req, ctx) => webhooks(webhook.listWebhooks(req, asOwner(ctx))),
    getWebhook: (req, ctx) => webhooks(webhook.getWebhook(req, asOwner(ctx))),
    updateWebhook: (req, ctx) => webhooks(webhook.updateWebhook(req, asOwner(ctx))),
    deleteWebhook: (req, ctx) => webhooks(webhook.deleteWebhook(req, asOwner(ctx))),
    rotateWebhookSecret: (req, ctx) => webhooks(webhook.rotateWebhookSecret(req, asOwner(ctx))),
    testWebhook: (req, ctx) => webhooks(webhook.testWebhook(req, asOwner(ctx))),
    listDeliveries: (req, ctx) => webhooks(webhook.listDeliveries(req, asOwner(ctx))),

    createKey: (req, ctx) => keys(key.createKey(req, causedBy(ctx.requestHeader))),
    listKeys: (req, ctx) => keys(key.listKeys(req, causedBy(ctx.requestHeader))),
    getKey: (req, ctx) => keys(key.getKey(req, causedBy(ctx.requestHeader))),
    updateKey: (req, ctx) => changing(req.id, key.updateKey(req, causedBy(ctx.requestHeader))),
    revokeKey: (req, ctx) => changing(req.id, key.revokeKey(req, causedBy(ctx.requestHeader))),
    rotateKey: (req, ctx) => changing(req.id, key.rotateKey(req, causedBy(ctx.requestHeader))),

    // WebhookService checks this too, but data nested past ~49 levels cannot even
    // cross the hop to it (a decoder error), so Connect and gRPC callers are refused here.
    async publishEvent(req, ctx) {
      const tooDeep = jsonDepthViolations(req.data, "data");
      if (tooDeep.length > 0) throw invalidArgument(tooDeep);
      return webhooks(webhook.publishEvent(req, causedBy(ctx.requestHeader)));
    },
    listDeadLetters: (req, ctx) => webhooks(webhook.listDeadLetters(req, causedBy(ctx.requestHeader))),
    replayDelivery: (req, ctx) => webhooks(webhook.replayDelivery(req, causedBy(ctx.requestHeader))),
    replayDeadLetters: (req, ctx) => webhooks(webhook.replayDeadLetters(req, causedBy(ctx.requestHeader))),
    listEndpoints: (req, ctx) => webhooks(webhook.listEndpoints(req, causedBy(ctx.requestHeader))),

    listFlags: () => create(ListFlagsResponseSchema, { flags: flags.list().map(toFlag) }),
    // gateway.proto's rules (checked before this runs) require a known name and `enabled`; this only narrows the types.
    async setFlag(req, ctx) {
      if (!isFlagName(req.name) || req.enabled === undefined) throw invalidArgument([{ field: "name", description: `must be one of ${flagNames.join(", ")}` }]);
      return create(SetFlagResponseSchema, { flag: toFlag(await flags.set(req.name, req.enabled, flipAuthor(ctx.requestHeader), requestIdOf(ctx.requestHeader))) });
    },

    listFlagChanges: async () => create(ListFlagChangesResponseSchema, { changes: (await flags.changes()).map(toFlag) }),

    getExternalMetrics: (req, ctx) => monitoring(metrics.getExternalMetrics(req, causedBy(ctx.requestHeader))),
    getWebhookMetrics: (req, ctx) => monitoring(metrics.getWebhookMetrics(req, causedBy(ctx.requestHeader))),
    listApiKeyInventory: (req, ctx) => monitoring(metrics.listApiKeyInventory(req, causedBy(ctx.requestHeader))),
    getMinuteSeries: (req, ctx) => monitoring(metrics.getMinuteSeries(req, causedBy(ctx.requestHeader))),
  };
}

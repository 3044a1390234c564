// WebhookService: webhook calls act for the owner in the request header;
// admin calls (events, dead letters, replay, stats) come without one. Storage
// lives in the *Store modules; the delivery worker works on its own (worker/).
// Input rules live in webhook.proto (buf.validate); requestRules() applies them
// first, so only what rules cannot say (SSRF, JSON depth and size) is checked here.
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CreateWebhookResponseSchema,
  DeleteWebhookResponseSchema,
  GetDeliveryStatsResponseSchema,
  GetWebhookResponseSchema,
  ListDeadLettersResponseSchema,
  ListEndpointsResponseSchema,
  ListDeliveriesResponseSchema,
  ListWebhooksResponseSchema,
  PublishEventResponseSchema,
  ReplayDeadLettersResponseSchema,
  ReplayDeliveryResponseSchema,
  RotateWebhookSecretResponseSchema,
  TestWebhookResponseSchema,
  UpdateWebhookResponseSchema,
  type WebhookService,
} from "../../gen/onering/v1/webhook_pb.js";
import type { MeshConfig } from "../shared/config.js";
import { invalidArgument, meshError, type Violation } from "../shared/errors.js";
import { jsonDepthViolations } from "../shared/jsonDepth.js";
import type { Logger } from "../shared/logger.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";
import type { WebhookApiMetrics } from "./apiMetrics.js";
import type { DeliveryStore } from "./deliveryStore.js";
import type { EventStore } from "./eventStore.js";
import { toCircuit, toDelivery, toEvent, toWebhook } from "./messages.js";
import type { OutboxRelay } from "./outboxRelay.js";
import { decodePageToken, keysetPage, pageLimit } from "./pageToken.js";
import { skippedByWebhook, webhookDisabled } from "./replayAnswers.js";
import { requireOwner, requireWebhooksEnabled } from "./requestContext.js";
import type { WebhookStore } from "./webhookStore.js";
import { validateReceiverUrl } from "./urlGuard.js";
import { eventDataBytes, maxEventDataBytes } from "./validation.js";
import type { WebhookDb } from "./webhookDb.js";

export interface WebhookHandlerDeps {
  db: WebhookDb;
  webhooks: WebhookStore;
  events: EventStore;
  deliveries: DeliveryStore;
  relay: OutboxRelay;
  flags: RuntimeFlags;
  config: MeshConfig;
  metrics: WebhookApiMetrics;
  logger: Logger;
}

const defaultGraceSeconds = 24 * 3600;

function check(violations: Violation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}


const notFound = (what: string, id: string) => meshError("NOT_FOUND", `${what} ${id} not found`);

export function webhookHandlers(deps: WebhookHandlerDeps): ServiceImpl<typeof WebhookService> {
  const { webhooks, events, deliveries, relay, flags, config, metrics } = deps;
  const allowPrivate = config.webhooks.allowPrivateUrls;

  const ownedWebhook = async (owner: string, id: string) => {
    const row = id ? await webhooks.get(owner, id) : undefined;
    if (!row) throw notFound("webhook", id);
    return row;
  };

  return {
    async createWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      check(await validateReceiverUrl(req.url, allowPrivate));
      const row = await webhooks.create(owner, { url: req.url, eventTypes: [...req.eventTypes], description: req.description });
      return create(CreateWebhookResponseSchema, { webhook: toWebhook(row), secret: row.secret });
    },

    async listWebhooks(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const limit = pageLimit(req.pageSize);
      const { rows, nextPageToken } = keysetPage(await webhooks.list(owner, limit, decodePageToken(req.pageToken)), limit, (r) => r.cursor);
      return create(ListWebhooksResponseSchema, { webhooks: rows.map((r) => toWebhook(r.row)), nextPageToken });
    },

    async getWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      return create(GetWebhookResponseSchema, { webhook: toWebhook(await ownedWebhook(owner, req.id)) });
    },

    async updateWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const before = await ownedWebhook(owner, req.id);
      if (req.url !== undefined) check(await validateReceiverUrl(req.url, allowPrivate));
      const row = await webhooks.update(owner, req.id, {
        url: req.url,
        eventTypes: req.eventTypes.length === 0 ? undefined : [...req.eventTypes],
        description: req.description,
        enabled: req.enabled,
        paused: req.paused,
      });
      if (!row) throw notFound("webhook", req.id);
      // Deliveries parked while paused or disabled go out again.
      if (row.enabled && !row.paused && (before.paused || !before.enabled)) relay.kick(await deliveries.parked(row.id));
      return create(UpdateWebhookResponseSchema, { webhook: toWebhook(row) });
    },

    async deleteWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      if (!(await webhooks.delete(owner, req.id))) throw notFound("webhook", req.id);
      return create(DeleteWebhookResponseSchema, {});
    },

    async rotateWebhookSecret(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const grace = req.gracePeriodSeconds === undefined ? defaultGraceSeconds : Number(req.gracePeriodSeconds);
      const row = await webhooks.rotateSecret(owner, req.id, grace);
      if (!row) throw notFound("webhook", req.id);
      return create(RotateWebhookSecretResponseSchema, {
        webhook: toWebhook(row),
        secret: row.secret,
        previousSecretExpireTime: timestampFromDate(row.previousSecretExpiresAt!),
      });
    },

    async testWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const hook = await ownedWebhook(owner, req.id);
      const published = await events.publish({ type: "webhook.test", data: { webhook_id: hook.id, message: "This is a test event from OneRing." } }, { kind: "one", webhookId: hook.id });
      // Read before the relay is kicked: the answer is the delivery as queued, whichever
      // protocol asked, not whatever attempt a fast worker has already made.
      const view = await deliveries.get(published.deliveries[0]!.id);
      relay.kick(published.deliveries);
      return create(TestWebhookResponseSchema, { delivery: toDelivery(view!) });
    },

    async listDeliveries(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const webhook = await ownedWebhook(owner, req.webhookId);
      const limit = pageLimit(req.pageSize);
      const { rows, nextPageToken } = keysetPage(await deliveries.list(req.webhookId, req.status, limit, decodePageToken(req.pageToken)), limit, (r) => r.cursor);
      return create(ListDeliveriesResponseSchema, {
        deliveries: rows.map(toDelivery),
        nextPageToken,
        circuit: toCircuit(webhook),
      });
    },

    async publishEvent(req) {
      requireWebhooksEnabled(flags);
      if (req.data && eventDataBytes(req.data) > maxEventDataBytes) {
        throw meshError("PAYLOAD_TOO_LARGE", `data is larger than ${maxEventDataBytes} bytes`, [{ field: "data", description: `must be at most ${maxEventDataBytes} bytes of JSON` }]);
      }
      check(jsonDepthViolations(req.data, "data"));
      const published = await events.publish({ type: req.type, data: req.data!, idempotencyKey: req.idempotencyKey });
      metrics.published(published.replayed);
      relay.kick(published.deliveries);
      return create(PublishEventResponseSchema, { event: toEvent(published.event), replayed: published.replayed, deliveryCount: published.deliveryCount });
    },

    async listDeadLetters(req) {
      const limit = pageLimit(req.pageSize);
      const filter = { webhookId: req.webhookId, eventType: req.eventType, since: req.since && timestampDate(req.since) };
      const { rows, nextPageToken } = keysetPage(await deliveries.deadLetters(filter, limit, decodePageToken(req.pageToken)), limit, (r) => r.cursor);
      return create(ListDeadLettersResponseSchema, { deadLetters: rows.map(toDelivery), nextPageToken });
    },

    async listEndpoints(req) {
      const limit = pageLimit(req.pageSize);
      const { rows, nextPageToken } = keysetPage(await webhooks.listAll(req.failingOnly, limit, decodePageToken(req.pageToken)), limit, (r) => r.cursor);
      return create(ListEndpointsResponseSchema, { endpoints: rows.map(({ row }) => ({ webhook: toWebhook(row), ownerKeyId: row.ownerKeyId })), nextPageToken });
    },

    async replayDelivery(req) {
      const { replayed, skipped } = req.id ? await deliveries.replay(req.id) : { replayed: [], skipped: [] };
      if (skipped[0]) throw webhookDisabled(skipped[0]);
      const [row] = replayed;
      if (!row) throw notFound("delivery", req.id);
      relay.kick([row]);
      return create(ReplayDeliveryResponseSchema, {
        delivery: toDelivery((await deliveries.get(row.id))!),
        previousStatus: row.previousStatus,
        resend: row.previousStatus === "delivered",
      });
    },

    async replayDeadLetters(req) {
      const { replayed, skipped } = await deliveries.replayDeadLetters({ webhookId: req.webhookId, since: req.since && timestampDate(req.since) });
      relay.kick(replayed);
      return create(ReplayDeadLettersResponseSchema, { replayedCount: replayed.length, skippedCount: skipped.length, skipped: skippedByWebhook(skipped) });
    },

    async getDeliveryStats() {
      const stats = await deliveries.stats();
      const n = (status: string) => BigInt(stats.byStatus.get(status) ?? 0);
      return create(GetDeliveryStatsResponseSchema, {
        pending: n("pending"),
        retrying: n("retrying"),
        deadLetter: n("dead_letter"),
        delivered: n("delivered"),
        outboxBacklog: BigInt(stats.outboxBacklog),
        replayRejected24h: BigInt(stats.replayRejected24h),
        openCircuits: BigInt(stats.openCircuits),
      });
    },
  };
}

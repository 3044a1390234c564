// WebhookService: subscription calls act for the owner in the request header;
// admin calls (events, dead letters, replay, stats) come without one. Storage
// lives in the *Store modules; the delivery worker works on its own (worker/).
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
import type { Logger } from "../shared/logger.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";
import type { WebhookApiMetrics } from "./apiMetrics.js";
import type { DeliveryStore } from "./deliveryStore.js";
import type { EventStore } from "./eventStore.js";
import { toCircuit, toDelivery, toEvent, toWebhook } from "./messages.js";
import type { OutboxRelay } from "./outboxRelay.js";
import { decodePageToken, encodePageToken, pageLimit } from "./pageToken.js";
import { skippedByWebhook, webhookDisabled } from "./replayAnswers.js";
import { requireOwner, requireWebhooksEnabled } from "./requestContext.js";
import type { SubscriptionStore } from "./subscriptionStore.js";
import { validateReceiverUrl } from "./urlGuard.js";
import {
  deliveryStatusViolations,
  descriptionViolations,
  eventDataBytes,
  eventDataViolations,
  eventTypeFilterViolations,
  eventTypeViolations,
  idempotencyKeyViolations,
  maxEventDataBytes,
  pageSizeViolations,
} from "./validation.js";
import type { WebhookDb } from "./webhookDb.js";

export interface WebhookHandlerDeps {
  db: WebhookDb;
  subscriptions: SubscriptionStore;
  events: EventStore;
  deliveries: DeliveryStore;
  relay: OutboxRelay;
  flags: RuntimeFlags;
  config: MeshConfig;
  metrics: WebhookApiMetrics;
  logger: Logger;
}

const maxGraceSeconds = 7 * 24 * 3600;
const defaultGraceSeconds = 24 * 3600;

function check(violations: Violation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}

function page(pageSize: number, pageToken: string): { limit: number; offset: number } {
  const offset = decodePageToken(pageToken);
  check([...pageSizeViolations(pageSize), ...(typeof offset === "number" ? [] : [offset])]);
  return { limit: pageLimit(pageSize), offset: offset as number };
}

const nextToken = (got: number, limit: number, offset: number) => (got === limit ? encodePageToken(offset + limit) : "");

const notFound = (what: string, id: string) => meshError("NOT_FOUND", `${what} ${id} not found`);

export function webhookHandlers(deps: WebhookHandlerDeps): ServiceImpl<typeof WebhookService> {
  const { subscriptions, events, deliveries, relay, flags, config, metrics } = deps;
  const allowPrivate = config.webhooks.allowPrivateUrls;

  const ownedSubscription = async (owner: string, id: string) => {
    const row = id ? await subscriptions.get(owner, id) : undefined;
    if (!row) throw notFound("webhook", id);
    return row;
  };

  return {
    async createWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      check([...(await validateReceiverUrl(req.url, allowPrivate)), ...eventTypeFilterViolations(req.eventTypes), ...descriptionViolations(req.description)]);
      const row = await subscriptions.create(owner, { url: req.url, eventTypes: [...req.eventTypes], description: req.description });
      return create(CreateWebhookResponseSchema, { webhook: toWebhook(row), secret: row.secret });
    },

    async listWebhooks(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const { limit, offset } = page(req.pageSize, req.pageToken);
      const rows = await subscriptions.list(owner, limit, offset);
      return create(ListWebhooksResponseSchema, { webhooks: rows.map(toWebhook), nextPageToken: nextToken(rows.length, limit, offset) });
    },

    async getWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      return create(GetWebhookResponseSchema, { webhook: toWebhook(await ownedSubscription(owner, req.id)) });
    },

    async updateWebhook(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const before = await ownedSubscription(owner, req.id);
      check([
        ...(req.url === undefined ? [] : await validateReceiverUrl(req.url, allowPrivate)),
        ...(req.eventTypes.length === 0 ? [] : eventTypeFilterViolations(req.eventTypes)),
        ...(req.description === undefined ? [] : descriptionViolations(req.description)),
      ]);
      const row = await subscriptions.update(owner, req.id, {
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
      if (!(await subscriptions.delete(owner, req.id))) throw notFound("webhook", req.id);
      return create(DeleteWebhookResponseSchema, {});
    },

    async rotateWebhookSecret(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const grace = req.gracePeriodSeconds === undefined ? defaultGraceSeconds : Number(req.gracePeriodSeconds);
      if (grace < 0 || grace > maxGraceSeconds) check([{ field: "grace_period_seconds", description: `must be between 0 and ${maxGraceSeconds}` }]);
      const row = await subscriptions.rotateSecret(owner, req.id, grace);
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
      const sub = await ownedSubscription(owner, req.id);
      const published = await events.publish({ type: "webhook.test", data: { webhook_id: sub.id, message: "This is a test event from OneRing." } }, { kind: "one", subscriptionId: sub.id });
      relay.kick(published.deliveries);
      const view = await deliveries.get(published.deliveries[0]!.id);
      return create(TestWebhookResponseSchema, { delivery: toDelivery(view!) });
    },

    async listDeliveries(req, ctx) {
      requireWebhooksEnabled(flags);
      const owner = requireOwner(ctx);
      const subscription = await ownedSubscription(owner, req.webhookId);
      check(deliveryStatusViolations(req.status));
      const { limit, offset } = page(req.pageSize, req.pageToken);
      const rows = await deliveries.list(req.webhookId, req.status, limit, offset);
      return create(ListDeliveriesResponseSchema, {
        deliveries: rows.map(toDelivery),
        nextPageToken: nextToken(rows.length, limit, offset),
        circuit: toCircuit(subscription),
      });
    },

    async publishEvent(req) {
      requireWebhooksEnabled(flags);
      if (req.data && eventDataBytes(req.data) > maxEventDataBytes) {
        throw meshError("PAYLOAD_TOO_LARGE", `data is larger than ${maxEventDataBytes} bytes`, [{ field: "data", description: `must be at most ${maxEventDataBytes} bytes of JSON` }]);
      }
      check([
        ...eventTypeViolations(req.type),
        ...eventDataViolations(req.data),
        ...idempotencyKeyViolations(req.idempotencyKey),
      ]);
      const published = await events.publish({ type: req.type, data: req.data!, idempotencyKey: req.idempotencyKey });
      metrics.published(published.replayed);
      relay.kick(published.deliveries);
      return create(PublishEventResponseSchema, { event: toEvent(published.event), replayed: published.replayed, deliveryCount: published.deliveryCount });
    },

    async listDeadLetters(req) {
      const { limit, offset } = page(req.pageSize, req.pageToken);
      const rows = await deliveries.deadLetters({ webhookId: req.webhookId, eventType: req.eventType, since: req.since && timestampDate(req.since) }, limit, offset);
      return create(ListDeadLettersResponseSchema, { deadLetters: rows.map(toDelivery), nextPageToken: nextToken(rows.length, limit, offset) });
    },

    async listEndpoints(req) {
      const { limit, offset } = page(req.pageSize, req.pageToken);
      const rows = await subscriptions.listAll(req.failingOnly, limit, offset);
      return create(ListEndpointsResponseSchema, {
        endpoints: rows.map((row) => ({ webhook: toWebhook(row), ownerKeyId: row.ownerKeyId })),
        nextPageToken: nextToken(rows.length, limit, offset),
      });
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

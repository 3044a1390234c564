// Rows of the webhooks schema as the generated protobuf messages.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CircuitBreakerSchema,
  DeliveryAttemptSchema,
  DeliverySchema,
  EventSchema,
  WebhookSchema,
  type CircuitBreaker,
  type Delivery,
  type Event,
  type Webhook,
} from "../../gen/onering/v1/webhook_pb.js";
import type { DeliveryView } from "./deliveryStore.js";
import type { EventRow, WebhookRow } from "./webhookDb.js";

const ts = (date: Date | null | undefined) => (date ? timestampFromDate(date) : undefined);

export function toWebhook(row: WebhookRow): Webhook {
  return create(WebhookSchema, {
    id: row.id,
    url: row.url,
    eventTypes: row.eventTypes,
    description: row.description,
    enabled: row.enabled,
    paused: row.paused,
    disabledReason: row.disabledReason,
    createTime: ts(row.createdAt),
    updateTime: ts(row.updatedAt),
    circuit: toCircuit(row),
  });
}

/** The breaker as callers see it: open until its cool-down ends, then half-open until a probe decides. */
export function toCircuit(row: Pick<WebhookRow, "consecutiveFailures" | "circuitOpenUntil">, now = new Date()): CircuitBreaker {
  const openUntil = row.circuitOpenUntil;
  const state = !openUntil ? "closed" : openUntil > now ? "open" : "half_open";
  return create(CircuitBreakerSchema, { state, consecutiveFailures: row.consecutiveFailures, openUntil: openUntil ? ts(openUntil) : undefined });
}

export function toEvent(row: EventRow): Event {
  return create(EventSchema, {
    id: row.id,
    type: row.type,
    data: row.data as JsonObject,
    idempotencyKey: row.idempotencyKey ?? "",
    createTime: ts(row.createdAt),
  });
}

export function toDelivery({ delivery, eventType, attempts }: DeliveryView): Delivery {
  const waiting = delivery.status === "pending" || delivery.status === "retrying";
  return create(DeliverySchema, {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType,
    webhookId: delivery.webhookId,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    nextAttemptTime: waiting ? ts(delivery.nextAttemptAt) : undefined,
    createTime: ts(delivery.createdAt),
    deliverTime: ts(delivery.deliveredAt),
    attempts: attempts.map((a) =>
      create(DeliveryAttemptSchema, {
        number: a.number,
        statusCode: a.statusCode,
        error: a.error,
        responseBody: a.responseBody,
        durationMs: BigInt(a.durationMs),
        attemptTime: ts(a.attemptedAt),
        traceId: a.traceId,
      }),
    ),
  });
}

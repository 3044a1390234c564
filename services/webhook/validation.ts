// Input rules of WebhookService; each returns every violation at once so the
// caller can fix a request in one round trip.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Violation } from "../shared/errors.js";
import { jsonDepthViolations } from "../shared/jsonDepth.js";

export const maxEventDataBytes = 256 * 1024;
const eventTypePattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const eventTypeFilterPattern = /^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)(\.\*)?$/;

export function eventTypeViolations(type: string, field = "type"): Violation[] {
  if (type.length === 0) return [{ field, description: "is required" }];
  if (type.length > 128) return [{ field, description: "must be at most 128 characters" }];
  if (!eventTypePattern.test(type)) return [{ field, description: "must be dot-separated words of letters, digits, _ or -" }];
  return [];
}

export function eventTypeFilterViolations(types: readonly string[], field = "event_types"): Violation[] {
  if (types.length === 0) return [{ field, description: "must list at least one event type" }];
  if (types.length > 50) return [{ field, description: "must list at most 50 event types" }];
  return types.flatMap((t, i) =>
    t.length > 0 && t.length <= 128 && eventTypeFilterPattern.test(t)
      ? []
      : [{ field: `${field}[${i}]`, description: "must be an event type (invoice.paid) or a prefix (invoice.*), at most 128 characters" }],
  );
}

export function descriptionViolations(description: string): Violation[] {
  return description.length > 512 ? [{ field: "description", description: "must be at most 512 characters" }] : [];
}

export function idempotencyKeyViolations(key: string): Violation[] {
  return key.length > 255 ? [{ field: "idempotency_key", description: "must be at most 255 characters" }] : [];
}

export function eventDataViolations(data: JsonObject | undefined): Violation[] {
  return data ? jsonDepthViolations(data, "data") : [{ field: "data", description: "must be a JSON object" }];
}

/** The serialised size of event data, which the 256 KiB cap applies to. */
export function eventDataBytes(data: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(data));
}

export function pageSizeViolations(pageSize: number): Violation[] {
  return pageSize < 0 || pageSize > 200 ? [{ field: "page_size", description: "must be between 1 and 200" }] : [];
}

export const deliveryStatuses = ["pending", "retrying", "delivered", "dead_letter", "dropped"] as const;

export function deliveryStatusViolations(status: string): Violation[] {
  return status === "" || (deliveryStatuses as readonly string[]).includes(status)
    ? []
    : [{ field: "status", description: `must be one of ${deliveryStatuses.join(", ")}` }];
}

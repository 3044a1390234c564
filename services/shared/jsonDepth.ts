// How deep a JSON value in a request (event `data`, a google.protobuf.Struct)
// may nest. protobuf-es refuses to decode past 100 message levels and each JSON
// level costs two (Value, then Struct or ListValue), so data deeper than ~49
// levels cannot even cross the gateway → WebhookService hop; 32 leaves room for
// the messages that carry data further (PublishEventResponse → Event → data).
import type { JsonValue } from "@bufbuild/protobuf";
import type { Violation } from "./errors.js";

export const maxJsonDepth = 32;

// Stops descending one level past the limit, so any depth costs a bounded stack.
function deeperThan(value: JsonValue, levels: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (levels === 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => deeperThan(child, levels - 1));
}

export function tooDeepViolation(field: string): Violation {
  return { field, description: `must not nest objects and arrays more than ${maxJsonDepth} levels deep` };
}

/** A violation for `field` when its objects and arrays nest more than maxJsonDepth levels. */
export function jsonDepthViolations(value: JsonValue | undefined, field: string): Violation[] {
  return value !== undefined && deeperThan(value, maxJsonDepth) ? [tooDeepViolation(field)] : [];
}

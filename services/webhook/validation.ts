// What WebhookService checks beyond the buf.validate rules in webhook.proto:
// the size and nesting of event data, which rules cannot measure.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Violation } from "../shared/errors.js";
import { jsonDepthViolations } from "../shared/jsonDepth.js";

export const maxEventDataBytes = 256 * 1024;

export function eventDataViolations(data: JsonObject | undefined): Violation[] {
  return data ? jsonDepthViolations(data, "data") : [{ field: "data", description: "must be a JSON object" }];
}

/** The serialised size of event data, which the 256 KiB cap applies to. */
export function eventDataBytes(data: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(data));
}

// What WebhookService checks of event data beyond the buf.validate rules in
// webhook.proto (which require it): its serialised size, which rules cannot
// measure. Its nesting depth is services/shared/jsonDepth.ts.
import type { JsonObject } from "@bufbuild/protobuf";

export const maxEventDataBytes = 256 * 1024;

/** The serialised size of event data, which the 256 KiB cap applies to. */
export function eventDataBytes(data: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(data));
}

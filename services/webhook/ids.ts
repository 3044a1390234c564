// Identifiers of the webhook domain: a readable prefix and 128 random bits.
import { randomBytes } from "node:crypto";

export function newId(prefix: "wh" | "evt" | "dlv"): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

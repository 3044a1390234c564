// Standard Webhooks signing: `whsec_` + base64 key; each signature is
// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated when
// several secrets sign during a rotation.
import { createHmac, randomBytes } from "node:crypto";

const secretPrefix = "whsec_";

/** A new signing secret, shown to the owner once. */
export function newSigningSecret(): string {
  return `${secretPrefix}${randomBytes(32).toString("base64")}`;
}

function signOne(secret: string, msgId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(secretPrefix.length), "base64");
  return `v1,${createHmac("sha256", key).update(`${msgId}.${timestamp}.${body}`).digest("base64")}`;
}

/** The `webhook-signature` header value: one signature per secret. */
export function signatureHeader(secrets: readonly string[], msgId: string, timestamp: number, body: string): string {
  return secrets.map((secret) => signOne(secret, msgId, timestamp, body)).join(" ");
}

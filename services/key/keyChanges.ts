// Tells every gateway that a key changed (update, rotate, revoke), so cached
// verifications are dropped within a second instead of at their expiry.
import type { NatsConnection } from "../shared/nats.js";

/** Subject carrying the id of a changed key; gateways subscribe to it. */
export function keyChangesSubject(natsPrefix: string): string {
  return `${natsPrefix}.keys.changed`;
}

export function publishKeyChange(nc: NatsConnection, natsPrefix: string, keyId: string): void {
  nc.publish(keyChangesSubject(natsPrefix), keyId);
}

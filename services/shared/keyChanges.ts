// Key change notices: KeyService announces the id of every key it updates,
// rotates or revokes, and every gateway drops what it cached for that key, so
// a revocation holds everywhere within a second instead of at cache expiry.
import type { NatsConnection } from "./nats.js";

function subject(natsPrefix: string): string {
  return `${natsPrefix}.keys.changed`;
}

export function publishKeyChange(nc: NatsConnection, natsPrefix: string, keyId: string): void {
  nc.publish(subject(natsPrefix), keyId);
}

/** Calls `onChange` with each changed key id until the connection drains. */
export function subscribeKeyChanges(nc: NatsConnection, natsPrefix: string, onChange: (keyId: string) => void): void {
  nc.subscribe(subject(natsPrefix), {
    callback: (err, msg) => {
      if (err === null) onChange(msg.string());
    },
  });
}

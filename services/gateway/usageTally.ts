// A key's usage as this gateway knows it, so GetMe needs no round trip: the
// count KeyService reported when the key was last verified, plus the requests
// this gateway admitted since. Keyed by the verified ApiKey object itself, so
// a fresh verification (change notice, TTL) starts from KeyService's count
// again and a dropped cache entry takes its tally with it.
import type { ApiKey } from "../../gen/onering/v1/key_pb.js";

export class UsageTally {
  private readonly admitted = new WeakMap<ApiKey, bigint>();

  /** Counts one admitted request of `key`; returns its usage including it. */
  admit(key: ApiKey): bigint {
    const since = (this.admitted.get(key) ?? 0n) + 1n;
    this.admitted.set(key, since);
    return key.usageCount + since;
  }
}

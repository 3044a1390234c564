// Verified keys cached in the gateway by secret hash, so a steady caller costs
// no round trip. Entries end at the secret's own validity (rotation grace,
// expiry), at the TTL, or as soon as KeyService announces a change of the key.
// Unknown and revoked secrets are remembered too, so a flood of them does not
// reach KeyService either.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Client, ConnectError } from "@connectrpc/connect";
import type { ApiKey, KeyService } from "../../gen/onering/v1/key_pb.js";
import { hashApiKey, isWellFormedApiKey, maxKeyLength } from "../shared/apiKeyFormat.js";
import { meshError, reasonOf } from "../shared/errors.js";
import { causedBy } from "../shared/internalClient.js";
import { passOn } from "./internalErrors.js";

const malformed = () => meshError("INVALID_API_KEY", "malformed API key");

type Entry = { key: ApiKey; until: number } | { error: ConnectError; until: number };

export interface KeyVerifierOptions {
  /** Longest a verification is trusted without a change notice (missed notices heal by then). */
  ttlMs: number;
  /** Most entries kept; the oldest go first. */
  maxEntries: number;
}

export class KeyVerifier {
  private readonly entries = new Map<string, Entry>();
  private readonly hashesByKey = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<ApiKey>>();
  /** Bumped by every change notice, so a verification that raced one is not cached. */
  private generation = 0;

  constructor(
    private readonly keys: Client<typeof KeyService>,
    private readonly options: KeyVerifierOptions,
  ) {}

  /**
   * The key of a presented secret, or the contract's 401 (thrown at once when it is known); a cached key needs no await.
   * `requestHeader` is the request that presented it, whose id a lookup carries.
   */
  verify(secret: string, requestHeader: Headers): ApiKey | Promise<ApiKey> {
    // Only well-formed secrets are ever cached, so a hit needs no format check; the length check keeps long junk unhashed.
    if (secret.length !== maxKeyLength) throw malformed();
    const hash = hashApiKey(secret);
    const entry = this.entries.get(hash);
    if (entry && entry.until > Date.now()) {
      if ("error" in entry) throw entry.error;
      return entry.key;
    }
    if (!isWellFormedApiKey(secret)) throw malformed();
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.lookup(secret, hash, requestHeader).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  /** Forgets every secret of a key (its change notice arrived). */
  forgetKey(keyId: string): void {
    this.generation++;
    for (const hash of this.hashesByKey.get(keyId) ?? []) this.entries.delete(hash);
    this.hashesByKey.delete(keyId);
  }

  private async lookup(secret: string, hash: string, requestHeader: Headers): Promise<ApiKey> {
    const generation = this.generation;
    const ttlEnd = Date.now() + this.options.ttlMs;
    try {
      const res = await this.keys.verifyKey({ secret }, causedBy(requestHeader));
      const key = res.key!;
      const validUntil = res.validUntil ? timestampDate(res.validUntil).getTime() : Infinity;
      if (generation === this.generation) {
        this.remember(hash, { key, until: Math.min(ttlEnd, validUntil) });
        const hashes = this.hashesByKey.get(key.id) ?? new Set();
        this.hashesByKey.set(key.id, hashes.add(hash));
      }
      return key;
    } catch (err) {
      const error = passOn(err, "KeyService");
      // Unknown and revoked secrets stay so; transient failures are not remembered.
      const reason = reasonOf(error);
      if ((reason === "INVALID_API_KEY" || reason === "API_KEY_REVOKED") && generation === this.generation) this.remember(hash, { error, until: ttlEnd });
      throw error;
    }
  }

  private remember(hash: string, entry: Entry): void {
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, entry);
  }
}

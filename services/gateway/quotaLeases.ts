// Local rate-limit decisions against tokens leased from KeyService in
// batches (the quota-server pattern). KeyService never grants past the
// limit, so replicas together cannot over-admit; batches shrink to exactly
// the waiting requests as the window nears exhaustion, and idle leftovers
// go back, so together they do not under-admit either. A steady caller's next
// batch is leased while the current one still has tokens, so its requests
// never wait for KeyService, and a busy key's batch grows to cover about a
// second of its demand, so it leases about twice a second however busy it is.
// Requests admitted are reported with the next lease or release, so a key's
// usage_count counts requests served, not leased.
import type { Client } from "@connectrpc/connect";
import type { KeyService } from "../../gen/onering/v1/key_pb.js";
import type { Logger } from "../shared/logger.js";
import { passOn } from "./internalErrors.js";

export interface QuotaDecision {
  admitted: boolean;
  limit: number;
  /** Requests left in the window as far as this gateway knows. */
  remaining: number;
  /** End of the window, Unix seconds. */
  reset: number;
}

export interface QuotaLeasesOptions {
  /** Batch leased ahead of demand while a key's demand is unknown or below it. */
  baseLease: number;
  /** A busy key's batch covers about this long of its demand since its last report. */
  leaseAheadMs: number;
  /** Leased tokens unused for this long go back to KeyService. */
  idleReleaseMs: number;
  /**
   * Once KeyService grants nothing, requests are refused here for this long
   * before asking again (tokens another replica hands back are seen then), so
   * a caller over its limit cannot turn every refusal into a KeyService call.
   */
  exhaustedRecheckMs: number;
  logger: Logger;
}

interface Waiter {
  resolve: (decision: QuotaDecision) => void;
  reject: (err: unknown) => void;
}

interface KeyQuota {
  keyId: string;
  tokens: number;
  limit: number;
  /** What KeyService had left after our last call; leases are sized from it. */
  serverRemaining: number;
  windowStart: number;
  reset: number;
  lastUse: number;
  /** Until when (ms) the window counts as exhausted without asking KeyService. */
  exhaustedUntil: number;
  queue: Waiter[];
  /** Requests admitted since the last report to KeyService. */
  served: number;
  /** When that report was made (ms). */
  reportedAt: number;
  /** Requests admitted per second between the last two reports; sizes the batches ahead. */
  demand: number;
  /** The lease call in flight, if any. */
  acquiring: Promise<void> | undefined;
  releasing: boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class QuotaLeases {
  private readonly quotas = new Map<string, KeyQuota>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly keys: Client<typeof KeyService>,
    private readonly options: QuotaLeasesOptions,
  ) {
    this.sweeper = setInterval(() => this.releaseIdle(), Math.max(options.idleReleaseMs / 2, 50));
    this.sweeper.unref();
  }

  /** Admits or rejects one request of a key, at once when leased tokens decide it; fails with UNAVAILABLE when it cannot decide. */
  take(keyId: string, limit: number): QuotaDecision | Promise<QuotaDecision> {
    const quota = this.quotaOf(keyId, limit);
    quota.lastUse = Date.now();
    if (quota.reset <= nowSeconds()) {
      quota.tokens = 0;
      quota.exhaustedUntil = 0;
    }
    if (quota.tokens === 0 && quota.exhaustedUntil > quota.lastUse) return this.reject(quota);
    if (quota.tokens > 0 && quota.queue.length === 0) {
      const decision = this.admit(quota);
      this.refillAhead(quota);
      return decision;
    }
    return new Promise((resolve, reject) => {
      quota.queue.push({ resolve, reject });
      this.pump(quota);
    });
  }

  /** Returns a changed key's tokens, so its next request leases under its new limit. */
  keyChanged(keyId: string): void {
    const quota = this.quotas.get(keyId);
    if (!quota) return;
    quota.exhaustedUntil = 0;
    void this.release(quota);
  }

  /** Hands every leased token back (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.quotas.values()].map((quota) => quota.acquiring));
    await Promise.all([...this.quotas.values()].map((quota) => this.release(quota)));
  }

  private quotaOf(keyId: string, limit: number): KeyQuota {
    let quota = this.quotas.get(keyId);
    if (!quota) {
      quota = { keyId, tokens: 0, limit, serverRemaining: limit, windowStart: 0, reset: 0, lastUse: Date.now(), exhaustedUntil: 0, queue: [], served: 0, reportedAt: Date.now(), demand: 0, acquiring: undefined, releasing: false };
      this.quotas.set(keyId, quota);
    }
    return quota;
  }

  private admit(quota: KeyQuota): QuotaDecision {
    quota.tokens--;
    quota.served++;
    return { admitted: true, limit: quota.limit, remaining: quota.serverRemaining + quota.tokens, reset: quota.reset };
  }

  private reject(quota: KeyQuota): QuotaDecision {
    return { admitted: false, limit: quota.limit, remaining: 0, reset: quota.reset };
  }

  /**
   * Tokens leased ahead of demand: the base batch, or what the key's demand
   * would use in leaseAheadMs if more, but never over a tenth of what is left,
   * and none once the lease would take the window below half. From there on
   * every lease is exactly the waiting requests, so no replica sits on tokens
   * that another, refusing, replica could have used.
   */
  private prefetch(quota: KeyQuota, waiting: number): number {
    const wanted = Math.max(this.options.baseLease, Math.ceil((quota.demand * this.options.leaseAheadMs) / 1000));
    const batch = Math.min(wanted, Math.floor(quota.serverRemaining / 10));
    return quota.serverRemaining - waiting - batch >= quota.limit / 2 ? batch : 0;
  }

  /**
   * Leases the next batch once the current one is half used, while requests
   * are still admitted from it; only when the window is too low to lease
   * ahead do requests wait for (exactly sized) leases.
   */
  private refillAhead(quota: KeyQuota): void {
    if (quota.acquiring || quota.releasing || this.closed) return;
    const batch = this.prefetch(quota, 0);
    if (batch > 0 && quota.tokens <= batch / 2) this.acquire(quota, [], batch);
  }

  private pump(quota: KeyQuota): void {
    if (quota.acquiring) return;
    while (quota.tokens > 0 && quota.queue.length > 0) quota.queue.shift()!.resolve(this.admit(quota));
    if (quota.queue.length === 0) return;
    const waiters = quota.queue.splice(0);
    this.acquire(quota, waiters, waiters.length + this.prefetch(quota, waiters.length));
  }

  private acquire(quota: KeyQuota, waiters: Waiter[], tokens: number): void {
    const served = this.report(quota);
    quota.acquiring = this.keys
      .acquireQuota({ keyId: quota.keyId, tokens: BigInt(tokens), served: BigInt(served) })
      .then(
        (res) => {
          if (Number(res.windowStart) !== quota.windowStart) quota.tokens = 0;
          quota.windowStart = Number(res.windowStart);
          quota.reset = Number(res.reset);
          quota.limit = Number(res.limit);
          quota.serverRemaining = Number(res.remaining);
          quota.tokens += Number(res.granted);
          // Granted less than asked: the window has nothing left for anyone.
          quota.exhaustedUntil = Number(res.granted) < tokens ? Date.now() + this.options.exhaustedRecheckMs : 0;
          for (const waiter of waiters) waiter.resolve(quota.tokens > 0 ? this.admit(quota) : this.reject(quota));
        },
        (err: unknown) => {
          // Not recorded: reported again with the next call.
          quota.served += served;
          const error = passOn(err, "KeyService");
          for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        quota.acquiring = undefined;
        this.pump(quota);
      });
  }

  private releaseIdle(): void {
    const idleSince = Date.now() - this.options.idleReleaseMs;
    for (const quota of this.quotas.values()) {
      if (quota.lastUse > idleSince || quota.acquiring || quota.releasing || quota.queue.length > 0) continue;
      if ((quota.tokens > 0 && quota.reset > nowSeconds()) || quota.served > 0) void this.release(quota);
      else this.quotas.delete(quota.keyId);
    }
  }

  /** Takes the requests served since the last report, for the call about to carry them, and measures the key's demand by them. */
  private report(quota: KeyQuota): number {
    const now = Date.now();
    const served = quota.served;
    if (now > quota.reportedAt) quota.demand = (served * 1000) / (now - quota.reportedAt);
    quota.reportedAt = now;
    quota.served = 0;
    return served;
  }

  private async release(quota: KeyQuota): Promise<void> {
    const { windowStart } = quota;
    // Tokens of an ended window are worth nothing; what was served still counts.
    const tokens = quota.reset > nowSeconds() ? Math.max(quota.tokens, 0) : 0;
    if ((tokens === 0 && quota.served === 0) || quota.releasing) return;
    quota.tokens -= tokens;
    const served = this.report(quota);
    quota.releasing = true;
    try {
      const res = await this.keys.releaseQuota({ keyId: quota.keyId, windowStart: BigInt(windowStart), tokens: BigInt(tokens), served: BigInt(served) });
      quota.serverRemaining = Number(res.remaining);
    } catch (err) {
      quota.served += served;
      // Still leased to us: keep them for our own requests or the next release attempt.
      if (quota.windowStart === windowStart) quota.tokens += tokens;
      this.options.logger.warn({ keyId: quota.keyId, tokens, err: (err as Error).message }, "quota release failed");
    } finally {
      quota.releasing = false;
    }
  }
}

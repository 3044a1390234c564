// When a failed delivery is tried again: BACKOFF[min(n-1, len-1)] seconds with
// ±20% jitter (so a recovering receiver is not hit by a synchronised wave), and
// a receiver's Retry-After honoured but clamped to [scheduled, 2 × scheduled].

export interface RetryInput {
  /** Attempts made since the delivery was (re)queued, 1 after the first failure. */
  attemptsMade: number;
  backoffSeconds: readonly number[];
  /** Retry-After of a 429/503 in milliseconds, 0 if none. */
  retryAfterMs: number;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

export function retryDelayMs({ attemptsMade, backoffSeconds, retryAfterMs, random = Math.random }: RetryInput): number {
  const index = Math.min(Math.max(attemptsMade, 1) - 1, backoffSeconds.length - 1);
  const scheduled = (backoffSeconds[index] ?? 0) * 1000;
  const jittered = scheduled * (0.8 + 0.4 * random());
  if (retryAfterMs <= 0) return Math.round(jittered);
  return Math.round(Math.min(Math.max(retryAfterMs, jittered), 2 * scheduled));
}

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds from now; 0 if absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number {
  if (!value) return 0;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}

// The rate-limit response headers: the X-RateLimit-* set every client knows,
// and the IETF draft-11 structured RateLimit-Policy / RateLimit pair.
import type { QuotaDecision } from "./quotaLeases.js";

const policyName = "hourly";
const windowSeconds = 3600;

export function rateLimitHeaders(decision: QuotaDecision, target: Headers): void {
  const untilReset = Math.max(decision.reset - Math.floor(Date.now() / 1000), 0);
  target.set("x-ratelimit-limit", String(decision.limit));
  target.set("x-ratelimit-remaining", String(decision.remaining));
  target.set("x-ratelimit-reset", String(decision.reset));
  target.set("ratelimit-policy", `"${policyName}";q=${decision.limit};w=${windowSeconds}`);
  target.set("ratelimit", `"${policyName}";r=${decision.remaining};t=${untilReset}`);
  if (!decision.admitted) target.set("retry-after", String(Math.max(untilReset, 1)));
}

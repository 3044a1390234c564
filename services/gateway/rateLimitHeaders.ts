// The rate-limit response headers: the X-RateLimit-* set every client knows,
// and the IETF draft-11 structured RateLimit-Policy / RateLimit pair.
import type { QuotaDecision } from "./quotaLeases.js";

const policyName = "hourly";
const windowSeconds = 3600;

// A limit's texts are the same on every response that carries it; there are few limits (the tiers and overrides).
const limitTexts = new Map<number, { limit: string; policy: string }>();
const mostLimits = 1000;

function textsOf(limit: number): { limit: string; policy: string } {
  let texts = limitTexts.get(limit);
  if (texts === undefined) {
    if (limitTexts.size >= mostLimits) limitTexts.clear();
    texts = { limit: String(limit), policy: `"${policyName}";q=${limit};w=${windowSeconds}` };
    limitTexts.set(limit, texts);
  }
  return texts;
}

export function rateLimitHeaders(decision: QuotaDecision, target: Headers): void {
  const untilReset = Math.max(decision.reset - Math.floor(Date.now() / 1000), 0);
  const texts = textsOf(decision.limit);
  target.set("x-ratelimit-limit", texts.limit);
  target.set("x-ratelimit-remaining", String(decision.remaining));
  target.set("x-ratelimit-reset", String(decision.reset));
  target.set("ratelimit-policy", texts.policy);
  target.set("ratelimit", `"${policyName}";r=${decision.remaining};t=${untilReset}`);
  if (!decision.admitted) target.set("retry-after", String(Math.max(untilReset, 1)));
}

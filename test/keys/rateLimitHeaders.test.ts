// The rate-limit headers of a decision, for keys of different limits taking turns.
import { afterEach, expect, it, vi } from "vitest";
import { rateLimitHeaders } from "../../services/gateway/rateLimitHeaders.js";

afterEach(() => vi.useRealTimers());

it("writes each decision's own limit, remaining and reset, and Retry-After only on refusals", () => {
  vi.useFakeTimers({ now: Date.UTC(2026, 11, 6, 12, 30), toFake: ["Date"] });
  const reset = Date.UTC(2026, 11, 6, 13) / 1000;
  const headersOf = (limit: number, remaining: number, admitted = true) => {
    const target = new Headers();
    rateLimitHeaders({ admitted, limit, remaining, reset }, target);
    return Object.fromEntries(target);
  };
  for (let round = 0; round < 2; round++) {
    expect(headersOf(100, 7)).toEqual({
      "x-ratelimit-limit": "100",
      "x-ratelimit-remaining": "7",
      "x-ratelimit-reset": String(reset),
      "ratelimit-policy": '"hourly";q=100;w=3600',
      ratelimit: '"hourly";r=7;t=1800',
    });
    expect(headersOf(5000, 0, false)).toMatchObject({
      "x-ratelimit-limit": "5000",
      "ratelimit-policy": '"hourly";q=5000;w=3600',
      ratelimit: '"hourly";r=0;t=1800',
      "retry-after": "1800",
    });
  }
});

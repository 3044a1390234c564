import { describe, expect, it } from "vitest";
import { bucketOf, bucketUpperMs, quantileSeconds } from "../../services/metrics/latencyBuckets.js";

describe("latency buckets", () => {
  it("put every latency in a bucket whose bound is within 10% above it", () => {
    for (let i = 0; i < 2000; i++) {
      const ms = 1 + Math.random() * 3_600_000;
      const upper = bucketUpperMs(bucketOf(ms));
      expect(upper).toBeGreaterThanOrEqual(ms * 0.999999);
      expect(upper).toBeLessThanOrEqual(ms * 1.1);
    }
  });

  it("give quantiles within 10% of the exact ones", () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 5 + i * 3);
    const counts = new Map<number, number>();
    for (const ms of samples) counts.set(bucketOf(ms), (counts.get(bucketOf(ms)) ?? 0) + 1);
    const rows = [...counts].map(([bucket, count]) => ({ bucket, count }));
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = samples[Math.ceil(q * samples.length) - 1]! / 1000;
      const estimate = quantileSeconds(rows, q);
      expect(estimate).toBeGreaterThanOrEqual(exact * 0.999);
      expect(estimate).toBeLessThanOrEqual(exact * 1.1 + 0.001);
    }
  });

  it("report 0 with no samples", () => {
    expect(quantileSeconds([], 0.9)).toBe(0);
  });
});

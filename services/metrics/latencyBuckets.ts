// Latencies are counted in geometric buckets 10% wide, so percentiles over any
// window come from summed counts and are within 10% of the true value.
const growth = 1.1;

/** The bucket a latency in milliseconds falls into (0 for anything up to 1 ms). */
export function bucketOf(ms: number): number {
  return ms <= 1 ? 0 : Math.ceil(Math.log(ms) / Math.log(growth));
}

/** The upper bound of a bucket, in milliseconds. */
export function bucketUpperMs(bucket: number): number {
  return growth ** bucket;
}

/** The q-quantile (0..1) of bucketed counts, in seconds; 0 when there are none. */
export function quantileSeconds(counts: { bucket: number; count: number }[], q: number): number {
  const sorted = [...counts].sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((sum, c) => sum + c.count, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const c of sorted) {
    seen += c.count;
    if (seen >= rank) return Math.round(bucketUpperMs(c.bucket)) / 1000;
  }
  return Math.round(bucketUpperMs(sorted[sorted.length - 1]!.bucket)) / 1000;
}

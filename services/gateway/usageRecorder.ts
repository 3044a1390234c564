// Usage records of external requests, added up before they are encoded: one
// record per minute, key, route, outcome and status between flushes, with its
// count and summed latency. Encoding a record per request cost the gateway more
// than any single check of its edge, and MetricsService only ever adds them up.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RequestRecordSchema } from "../../gen/onering/v1/usage_pb.js";
import type { UsagePublishers } from "../shared/usageStream.js";

type RequestRecord = MessageInitShape<typeof RequestRecordSchema>;

interface Sum {
  minute: number;
  keyId: string;
  tier: string;
  route: string;
  outcome: string;
  status: number;
  timeMs: number;
  count: number;
  latencyUs: number;
}

export class UsageRecorder {
  // By key, then route; a route's few sums (minute, outcome, status) are
  // scanned. Lookups use strings the call already holds, so a steady caller's
  // record builds no key string to hash.
  private sums = new Map<string, Map<string, Sum[]>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publisher: UsagePublishers["requests"],
    private readonly flushIntervalMs = 200,
  ) {}

  record(keyId: string, tier: string, route: string, outcome: string, status: number, latencyUs: number): void {
    const timeMs = Date.now();
    const minute = Math.floor(timeMs / 60_000);
    let byRoute = this.sums.get(keyId);
    if (byRoute === undefined) this.sums.set(keyId, (byRoute = new Map()));
    let sums = byRoute.get(route);
    if (sums === undefined) byRoute.set(route, (sums = []));
    for (const sum of sums) {
      if (sum.minute === minute && sum.outcome === outcome && sum.status === status) {
        sum.count++;
        sum.latencyUs += latencyUs;
        return;
      }
    }
    sums.push({ minute, keyId, tier, route, outcome, status, timeMs, count: 1, latencyUs });
    this.timer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Hands what was added up to the publisher, which batches it onto JetStream. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const byRoute of this.sums.values()) for (const sums of byRoute.values()) for (const sum of sums) this.publisher.record(toRecord(sum));
    this.sums = new Map();
  }
}

function toRecord({ keyId, tier, route, outcome, status, timeMs, count, latencyUs }: Sum): RequestRecord {
  return { keyId, tier, route, outcome, status, count, latencyUs: BigInt(Math.round(latencyUs)), timeMs: BigInt(timeMs) };
}

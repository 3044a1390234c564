// Usage records of external requests, added up before they are encoded: one
// record per minute, key, route, outcome and status between flushes, with its
// count and summed latency. Encoding a record per request cost the gateway more
// than any single check of its edge, and MetricsService only ever adds them up.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RequestRecordSchema } from "../../gen/onering/v1/usage_pb.js";
import type { UsagePublishers } from "../shared/usageStream.js";

type RequestRecord = MessageInitShape<typeof RequestRecordSchema>;

interface Sum {
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
  private sums = new Map<string, Sum>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publisher: UsagePublishers["requests"],
    private readonly flushIntervalMs = 200,
  ) {}

  record(keyId: string, tier: string, route: string, outcome: string, status: number, latencyUs: number): void {
    const timeMs = Date.now();
    const id = `${Math.floor(timeMs / 60_000)}|${keyId}|${route}|${outcome}|${status}`;
    const sum = this.sums.get(id);
    if (sum === undefined) {
      this.sums.set(id, { keyId, tier, route, outcome, status, timeMs, count: 1, latencyUs });
      this.timer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
      return;
    }
    sum.count++;
    sum.latencyUs += latencyUs;
  }

  /** Hands what was added up to the publisher, which batches it onto JetStream. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const sum of this.sums.values()) this.publisher.record(toRecord(sum));
    this.sums = new Map();
  }
}

function toRecord(sum: Sum): RequestRecord {
  return { ...sum, latencyUs: BigInt(Math.round(sum.latencyUs)), timeMs: BigInt(sum.timeMs) };
}

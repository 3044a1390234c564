// The gateway adds up usage records of alike requests between flushes; the
// counts and latencies it hands on must still add up to every request.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { expect, it, vi } from "vitest";
import type { RequestRecordSchema } from "../../gen/onering/v1/usage_pb.js";
import type { UsagePublishers } from "../../services/shared/usageStream.js";
import { UsageRecorder } from "../../services/gateway/usageRecorder.js";

type Sent = MessageInitShape<typeof RequestRecordSchema>;

function recorder() {
  const sent: Sent[] = [];
  const publisher = { record: (r: Sent) => sent.push(r) } as unknown as UsagePublishers["requests"];
  return { sent, usage: new UsageRecorder(publisher, 60_000) };
}

it("adds up alike requests into one record with their count and summed latency", () => {
  const { sent, usage } = recorder();
  for (let i = 0; i < 1000; i++) usage.record("key_a", "pro", "GetMe", "ok", 200, 10);
  usage.record("key_a", "pro", "GetMe", "rate_limited", 429, 5);
  usage.record("", "unknown", "GetMe", "auth_failure", 401, 3);
  usage.flush();
  expect(sent).toHaveLength(3);
  expect(sent.find((r) => r.outcome === "ok")).toMatchObject({ keyId: "key_a", tier: "pro", route: "GetMe", status: 200, count: 1000, latencyUs: 10_000n });
  expect(sent.find((r) => r.outcome === "rate_limited")).toMatchObject({ count: 1, status: 429 });
  expect(sent.find((r) => r.outcome === "auth_failure")).toMatchObject({ keyId: "", count: 1 });
  const total = sent.reduce((n, r) => n + (r.count ?? 0), 0);
  expect(total).toBe(1002);
});

it("starts afresh after a flush, so nothing is handed on twice", () => {
  const { sent, usage } = recorder();
  usage.record("key_b", "free", "GetMe", "ok", 200, 1);
  usage.flush();
  usage.flush();
  usage.record("key_b", "free", "GetMe", "ok", 200, 1);
  usage.flush();
  expect(sent.map((r) => r.count)).toEqual([1, 1]);
});

it("keeps each minute's requests in a record of their own", () => {
  vi.useFakeTimers({ now: Date.UTC(2026, 11, 6, 12, 0, 59, 900), toFake: ["Date"] });
  try {
    const { sent, usage } = recorder();
    usage.record("key_c", "pro", "GetMe", "ok", 200, 1);
    usage.record("key_c", "pro", "ListWebhooks", "ok", 200, 1);
    vi.setSystemTime(Date.UTC(2026, 11, 6, 12, 1, 0, 100));
    usage.record("key_c", "pro", "GetMe", "ok", 200, 1);
    usage.record("key_c", "pro", "GetMe", "ok", 200, 1);
    usage.flush();
    const getMe = sent.filter((r) => r.route === "GetMe").map((r) => [Number(r.timeMs) - (Number(r.timeMs) % 60_000), r.count]);
    expect(getMe).toEqual([
      [Date.UTC(2026, 11, 6, 12, 0), 1],
      [Date.UTC(2026, 11, 6, 12, 1), 2],
    ]);
    expect(sent.filter((r) => r.route === "ListWebhooks").map((r) => r.count)).toEqual([1]);
  } finally {
    vi.useRealTimers();
  }
});

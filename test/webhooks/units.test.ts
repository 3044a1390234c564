// Unit tests of the pure parts: retry schedule, Retry-After, signatures
// (checked by the standardwebhooks package), group commit, the job codec and the per-webhook slots.
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { Batcher } from "../../services/webhook/batcher.js";
import { decodeJob, encodeJob, jobMessageId } from "../../services/webhook/deliveryJobs.js";
import { WebhookSlots } from "../../services/webhook/worker/webhookSlots.js";
import { parseRetryAfter, retryDelayMs } from "../../services/webhook/retryPolicy.js";
import { newSigningSecret, signatureHeader } from "../../services/webhook/signature.js";

describe("retryDelayMs", () => {
  const backoffSeconds = [60, 300, 900];
  it("uses BACKOFF[min(n-1, len-1)] with ±20% jitter", () => {
    expect(retryDelayMs({ attemptsMade: 1, backoffSeconds, retryAfterMs: 0, random: () => 0.5 })).toBe(60_000);
    expect(retryDelayMs({ attemptsMade: 2, backoffSeconds, retryAfterMs: 0, random: () => 0 })).toBe(240_000);
    expect(retryDelayMs({ attemptsMade: 3, backoffSeconds, retryAfterMs: 0, random: () => 0.999999 })).toBeCloseTo(1_080_000, -1);
    expect(retryDelayMs({ attemptsMade: 9, backoffSeconds, retryAfterMs: 0, random: () => 0.5 })).toBe(900_000);
  });
  it("honours Retry-After, clamped to [scheduled, 2 × scheduled]", () => {
    expect(retryDelayMs({ attemptsMade: 1, backoffSeconds, retryAfterMs: 90_000, random: () => 0.5 })).toBe(90_000);
    expect(retryDelayMs({ attemptsMade: 1, backoffSeconds, retryAfterMs: 3_600_000, random: () => 0.5 })).toBe(120_000);
    expect(retryDelayMs({ attemptsMade: 1, backoffSeconds, retryAfterMs: 1000, random: () => 0.5 })).toBe(60_000);
  });
  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("120")).toBe(120_000);
    expect(parseRetryAfter(new Date(10_000 + 30_000).toUTCString(), 10_000)).toBe(30_000);
    expect(parseRetryAfter("soon")).toBe(0);
    expect(parseRetryAfter(undefined)).toBe(0);
  });
});

it("signs so that standardwebhooks verifies with either secret of a rotation", () => {
  const [a, b] = [newSigningSecret(), newSigningSecret()];
  const ts = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: "a.b", data: { x: 1 } });
  const headers = { "webhook-id": "dlv_1", "webhook-timestamp": String(ts), "webhook-signature": signatureHeader([a, b], "dlv_1", ts, body) };
  expect(new StandardWebhook(a).verify(body, headers)).toEqual({ type: "a.b", data: { x: 1 } });
  expect(new StandardWebhook(b).verify(body, headers)).toEqual({ type: "a.b", data: { x: 1 } });
  expect(() => new StandardWebhook(newSigningSecret()).verify(body, headers)).toThrow();
  expect(() => new StandardWebhook(a).verify(`${body} `, headers)).toThrow();
});

it("Batcher groups concurrent adds into one run and keeps results in order", async () => {
  const runs: number[][] = [];
  const batcher = new Batcher(async (items: number[]) => {
    runs.push(items);
    return items.map((i) => i * 2);
  }, 3);
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(i)));
  expect(results).toEqual([2, 4, 6, 8, 10]);
  expect(runs).toEqual([[1, 2, 3], [4, 5]]);
});

it("Batcher starts another batch while one is in flight, up to its limit", async () => {
  const runs: number[][] = [];
  const pending: (() => void)[] = [];
  const batcher = new Batcher(
    (items: number[]) =>
      new Promise<number[]>((resolve) => {
        runs.push(items);
        pending.push(() => resolve(items));
      }),
    10,
    2,
  );
  const first = batcher.add(1);
  await new Promise((r) => setImmediate(r));
  const second = batcher.add(2);
  await new Promise((r) => setImmediate(r));
  const later = [batcher.add(3), batcher.add(4)];
  await new Promise((r) => setImmediate(r));
  // Two in flight: 3 and 4 wait together for a free slot.
  expect(runs).toEqual([[1], [2]]);
  pending.shift()!();
  await first;
  await new Promise((r) => setImmediate(r));
  expect(runs).toEqual([[1], [2], [3, 4]]);
  for (const resolve of pending.splice(0)) resolve();
  expect(await Promise.all([second, ...later])).toEqual([2, 3, 4]);
});

it("Batcher with a linger gathers items added over that time into one run", async () => {
  vi.useFakeTimers();
  try {
    const runs: number[][] = [];
    const batcher = new Batcher(
      async (items: number[]) => {
        runs.push(items);
        return items;
      },
      100,
      1,
      50,
    );
    const first = batcher.add(1);
    await vi.advanceTimersByTimeAsync(30);
    const second = batcher.add(2);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(runs).toEqual([[1, 2]]);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    const third = batcher.add(3);
    await vi.advanceTimersByTimeAsync(49);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await third).toBe(3);
    expect(runs).toEqual([[1, 2], [3]]);
  } finally {
    vi.useRealTimers();
  }
});

it("Batcher rejects every item of a failed batch", async () => {
  const batcher = new Batcher(async (): Promise<number[]> => {
    throw new Error("down");
  });
  await expect(Promise.all([batcher.add(1), batcher.add(2)])).rejects.toThrow("down");
});

it("job codec round-trips and refuses garbage; message ids change with the generation", () => {
  const job = { deliveryId: "dlv_1", webhookId: "wh_1", generation: 2 };
  expect(decodeJob(encodeJob(job))).toEqual(job);
  expect(decodeJob("{")).toBeUndefined();
  expect(decodeJob(JSON.stringify({ d: 1 }))).toBeUndefined();
  expect(jobMessageId({ ...job, generation: 0 })).toBe("dlv_1");
  expect(jobMessageId(job)).toBe("dlv_1.2");
});

describe("WebhookSlots", () => {
  it("runs up to the cap per webhook, queues up to the bound, refuses beyond it, and hands a freed slot to the oldest waiter", () => {
    const started: string[] = [];
    const slots = new WebhookSlots<string>(2, 2, (item) => started.push(item));
    expect(["a1", "a2", "a3", "a4", "a5"].map((item) => slots.offer("a", item))).toEqual([true, true, true, true, false]);
    expect(slots.offer("b", "b1")).toBe(true);
    expect(started).toEqual(["a1", "a2", "b1"]);
    expect([...slots.waiting()]).toEqual(["a3", "a4"]);
    slots.release("a");
    expect(started).toEqual(["a1", "a2", "b1", "a3"]);
    expect(slots.takeWaiting()).toEqual(["a4"]);
    expect([...slots.waiting()]).toEqual([]);
  });

  it("reports room only once no queue is more than half full", async () => {
    const slots = new WebhookSlots<number>(1, 4, () => {});
    for (let i = 0; i < 5; i++) slots.offer("a", i);
    let roomy = false;
    const room = slots.room().then(() => (roomy = true));
    slots.release("a");
    await Promise.resolve();
    expect(roomy).toBe(false);
    slots.release("a");
    await room;
    expect(roomy).toBe(true);
  });
});

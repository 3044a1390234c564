import { expect, it } from "vitest";
import { CallSignal } from "../../services/shared/callSignal.js";

it("aborts a signal read before the abort, once, with the first reason", () => {
  const call = new CallSignal();
  const { signal } = call;
  const reasons: unknown[] = [];
  signal.addEventListener("abort", () => reasons.push(signal.reason));
  expect(signal.aborted).toBe(false);
  call.abort("gone");
  call.abort("finished");
  expect(reasons).toEqual(["gone"]);
  expect(call.signal).toBe(signal);
});

it("hands out an already aborted signal when first read after the abort", () => {
  const call = new CallSignal();
  call.abort("gone");
  call.abort("finished");
  expect([call.signal.aborted, call.signal.reason]).toEqual([true, "gone"]);
});

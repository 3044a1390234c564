// tickShape.ts holds one of process.nextTick's own tick objects for the life
// of the process (why: docs/PERFORMANCE.md, "nextTick off V8's fast path").
// Whether V8 then keeps the tick literal fast across full GCs depends on GC
// timing and is shown by the bench, not asserted here.
import { expect, it } from "vitest";
import { heldTicks } from "../../services/shared/tickShape.js";

it("holds a tick object of process.nextTick", async () => {
  await new Promise((resolve) => process.nextTick(resolve));
  expect(heldTicks).toHaveLength(1);
  const symbols = Object.getOwnPropertySymbols(heldTicks[0]).map((s) => s.description);
  expect(symbols).toEqual(["async_id_symbol", "trigger_async_id_symbol"]);
  expect(Object.keys(heldTicks[0]!)).toEqual(["callback", "args"]);
});

// Responses answered while the event loop reads requests are ended together
// right after (setImmediate: the check phase), back to back, instead of one
// write as each is answered. A client waiting on several connections is then
// woken once for the lot rather than once per response; on a loaded gateway
// those wakeups were the largest cost of a REST call beyond Node's own HTTP
// work (docs/PERFORMANCE.md). A response waits at most for the rest of the turn.
import type { AnyResponse } from "../server.js";

let waiting: Array<{ res: AnyResponse; payload: string }> = [];

/** Ends `res` with `payload` once the current I/O phase is over; its head is written already. */
export function endTogether(res: AnyResponse, payload: string): void {
  if (waiting.push({ res, payload }) === 1) setImmediate(endWaiting);
}

function endWaiting(): void {
  const batch = waiting;
  waiting = [];
  for (const { res, payload } of batch) res.end(payload);
}

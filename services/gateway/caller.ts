// Who is calling, as established by the edge interceptor and read by handlers
// through `ctx.values` (so REST transcoding and Connect share one edge).
import { createContextKey } from "@connectrpc/connect";
import type { ApiKey } from "../../gen/onering/v1/key_pb.js";
import { meshError } from "../shared/errors.js";
import type { QuotaDecision } from "./quotaLeases.js";

export type Caller =
  | { kind: "admin" }
  | { kind: "key"; key: ApiKey; quota: QuotaDecision; usageCount: bigint };

export const callerKey = createContextKey<Caller | undefined>(undefined, { description: "onering caller" });

/** The API key of the call; the edge guarantees one on external routes. */
export function apiKeyCaller(caller: Caller | undefined): Extract<Caller, { kind: "key" }> {
  if (caller?.kind !== "key") throw meshError("MISSING_API_KEY", "this route needs an API key");
  return caller;
}

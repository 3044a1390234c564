// The edge as a Connect interceptor: Connect, gRPC and gRPC-Web callers of
// GatewayService pass the EdgeGate here; REST callers pass the same gate in
// restCalls.ts. The caller it admits reaches handlers through `ctx.values`.
import type { Interceptor } from "@connectrpc/connect";
import { callerKey } from "./caller.js";
import type { EdgeGate } from "./edgeGate.js";

export function edgeInterceptor(gate: EdgeGate): Interceptor {
  return (next) => async (req) => {
    if (!gate.guards(req.method)) return next(req);
    const admitted = gate.admit(req.method, req.header);
    const passage = admitted instanceof Promise ? await admitted : admitted;
    req.contextValues.set(callerKey, passage.caller);
    try {
      const res = await next(req);
      gate.passed(passage, res.header);
      return res;
    } catch (err) {
      throw gate.failed(passage, err);
    }
  };
}

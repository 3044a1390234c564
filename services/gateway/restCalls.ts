// The gateway's REST calls in one flat pass: the edge (EdgeGate), the request
// rules, the implementation, the error boundary and the RPC metrics, called in
// the order the interceptors run them for Connect and gRPC (metrics outermost,
// then the edge, then the error boundary and the rules around the handler), but
// as plain calls rather than four nested async layers. Those layers were most
// of a REST call's cost beyond Node's own HTTP work (docs/PERFORMANCE.md).
// With tracing on, REST takes the interceptors instead, spans included.
import { contractError } from "../shared/errorBoundary.js";
import { invokeUnary } from "../shared/invokeUnary.js";
import type { Logger } from "../shared/logger.js";
import type { ProcessMetrics } from "../shared/metrics.js";
import type { RequestRules } from "../shared/requestRules.js";
import type { UnaryInvoke } from "../shared/transcoding/transcoder.js";
import { callerKey } from "./caller.js";
import type { EdgeGate } from "./edgeGate.js";

export interface RestCallDeps {
  gate: EdgeGate;
  rules: RequestRules;
  metrics: ProcessMetrics;
  logger: Logger;
}

// The transcoder in front of the gateway serves GatewayService alone, so every call passes the gate.
export function gatewayRestCalls({ gate, rules, metrics, logger }: RestCallDeps): UnaryInvoke {
  return async (method, impl, input, init) => {
    const started = performance.now();
    try {
      const admitted = gate.admit(method, init.requestHeader);
      const passage = admitted instanceof Promise ? await admitted : admitted;
      init.contextValues?.set(callerKey, passage.caller);
      let result;
      try {
        rules.check(method, input);
        result = await invokeUnary(method, impl, [], input, init);
      } catch (err) {
        throw gate.failed(passage, contractError(err, logger, method.name));
      }
      gate.passed(passage, result.header);
      metrics.observeCall(method, started);
      return result;
    } catch (err) {
      metrics.observeCall(method, started, err);
      throw err;
    }
  };
}

// The gateway's REST calls in one flat pass: the edge (EdgeGate), the request
// rules, the implementation, the error boundary and the RPC metrics, called in
// the order the interceptors run them for Connect and gRPC (metrics outermost,
// then the edge, then the error boundary and the rules around the handler), but
// as plain calls rather than four nested async layers. Those layers were most
// of a REST call's cost beyond Node's own HTTP work (docs/PERFORMANCE.md).
// A call that awaits nothing (a cached key with leased tokens, GetMe) ends
// synchronously, settling no promise at all.
// With tracing on, REST takes the interceptors instead, spans included.
import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import { contractError } from "../shared/errorBoundary.js";
import { invokeUnary, type InvokeInit, type InvokeResult, type UnaryImpl } from "../shared/invokeUnary.js";
import type { Logger } from "../shared/logger.js";
import type { ProcessMetrics } from "../shared/metrics.js";
import type { RequestRules } from "../shared/requestRules.js";
import type { UnaryInvoke } from "../shared/transcoding/transcoder.js";
import { callerKey } from "./caller.js";
import type { EdgeGate, Passage } from "./edgeGate.js";

export interface RestCallDeps {
  gate: EdgeGate;
  rules: RequestRules;
  metrics: ProcessMetrics;
  logger: Logger;
}

type Result = InvokeResult<DescMessage>;

// The transcoder in front of the gateway serves GatewayService alone, so every call passes the gate.
export function gatewayRestCalls({ gate, rules, metrics, logger }: RestCallDeps): UnaryInvoke {
  // Defined once, not per call: a call that awaits nothing allocates no closure here.
  const passed = (passage: Passage, result: Result) => {
    gate.passed(passage, result.header);
    return result;
  };
  const failed = (passage: Passage, method: DescMethodUnary, init: InvokeInit, err: unknown): never => {
    throw gate.failed(passage, contractError(err, logger, method.name, init.requestHeader));
  };
  const ended = (method: DescMethodUnary, started: number, result: Result) => {
    metrics.observeCall(method, started);
    return result;
  };
  const endedBadly = (method: DescMethodUnary, started: number, err: unknown): never => {
    metrics.observeCall(method, started, err);
    throw err;
  };

  // Inside the gate: the rules and the implementation, failures in the contract's shape with the edge's headers.
  const admitted = (passage: Passage, method: DescMethodUnary, impl: UnaryImpl<DescMessage, DescMessage>, input: MessageShape<DescMessage>, init: InvokeInit): Result | Promise<Result> => {
    init.contextValues?.set(callerKey, passage.caller);
    try {
      rules.check(method, input);
      const result = invokeUnary(method, impl, [], input, init);
      return result instanceof Promise
        ? result.then(
            (r) => passed(passage, r),
            (err: unknown) => failed(passage, method, init, err),
          )
        : passed(passage, result);
    } catch (err) {
      return failed(passage, method, init, err);
    }
  };

  return (method, impl, input, init) => {
    const started = performance.now();
    try {
      const passage = gate.admit(method, init.requestHeader, started);
      const result = passage instanceof Promise ? passage.then((p) => admitted(p, method, impl, input, init)) : admitted(passage, method, impl, input, init);
      return result instanceof Promise
        ? result.then(
            (r) => ended(method, started, r),
            (err: unknown) => endedBadly(method, started, err),
          )
        : ended(method, started, result);
    } catch (err) {
      return endedBadly(method, started, err);
    }
  };
}

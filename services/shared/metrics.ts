// Prometheus metrics for one process: Node defaults plus a count and a latency
// histogram per RPC and code. Services register their domain metrics on `registry`.
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { Registry, collectDefaultMetrics } from "prom-client";
import { TallyCounter, TallyHistogram, type TallyCounterChild, type TallyHistogramChild } from "./tallyMetrics.js";

interface RpcChild {
  requests: TallyCounterChild;
  duration: TallyHistogramChild;
}

export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly rpcRequests: TallyCounter;
  private readonly rpcDuration: TallyHistogram;
  private readonly children = new Map<DescMethod, Map<string, RpcChild>>();

  constructor(processName: string) {
    this.registry.setDefaultLabels({ process: processName });
    collectDefaultMetrics({ register: this.registry });
    const labelNames = ["service", "method", "code"];
    this.rpcRequests = new TallyCounter({
      name: "onering_rpc_requests_total",
      help: "RPCs handled, by service, method and status code.",
      labelNames,
      registry: this.registry,
    });
    this.rpcDuration = new TallyHistogram({
      name: "onering_rpc_duration_seconds",
      help: "RPC handling time, by service, method and status code.",
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registry: this.registry,
    });
  }

  /** Records a call of `method` that began at `started` (performance.now()) and ended now, with `error` if it failed. */
  observeCall(method: DescMethod, started: number, error?: unknown): void {
    const code = error === undefined ? "ok" : String(ConnectError.from(error).code);
    const child = this.childOf(method, code);
    child.requests.inc();
    child.duration.observe((performance.now() - started) / 1000);
  }

  // Looked up by the method's descriptor and the code, both values the call already holds, so no label string is built per call.
  private childOf(method: DescMethod, code: string): RpcChild {
    let byCode = this.children.get(method);
    if (byCode === undefined) this.children.set(method, (byCode = new Map()));
    let child = byCode.get(code);
    if (child === undefined) {
      const labels = [method.parent.typeName, method.name, code];
      child = { requests: this.rpcRequests.child(...labels), duration: this.rpcDuration.child(...labels) };
      byCode.set(code, child);
    }
    return child;
  }

  /** Interceptor that records every unary and streaming call. */
  interceptor(): Interceptor {
    return (next) => async (req) => {
      const started = performance.now();
      try {
        const res = await next(req);
        this.observeCall(req.method, started);
        return res;
      } catch (err) {
        this.observeCall(req.method, started, err);
        throw err;
      }
    };
  }
}

// One usage record per external request, outcome included, for MetricsService
// (batched off the request path) and for Prometheus.
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, type Registry } from "prom-client";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { reasonOf, reasons, type ErrorReason } from "../shared/errors.js";
import type { UsagePublishers } from "../shared/usageStream.js";
import { verifiedKeyKey } from "./caller.js";
import { isAdminMethod } from "./routeKinds.js";

const outcomeByReason: Partial<Record<ErrorReason, string>> = {
  MISSING_API_KEY: "auth_failure",
  INVALID_API_KEY: "auth_failure",
  API_KEY_REVOKED: "auth_failure",
  RATE_LIMITED: "rate_limited",
  CANARY_ONLY_MODE: "canary_rejected",
  EXTERNAL_API_DISABLED: "disabled",
};

/** Counts every external request in Prometheus and, given `records`, publishes its usage record. */
export function usageInterceptor(records: UsagePublishers["requests"] | undefined, registry: Registry): Interceptor {
  const external = new Set(GatewayService.methods.filter((m) => !isAdminMethod(m)).map((m) => m.name));
  const requests = new Counter({
    name: "onering_external_requests_total",
    help: "External API requests by key tier and outcome (ok, auth_failure, rate_limited, canary_rejected, disabled, error).",
    labelNames: ["tier", "outcome"],
    registers: [registry],
  });
  return (next) => async (req) => {
    if (req.service.typeName !== GatewayService.typeName || !external.has(req.method.name)) return next(req);
    const started = performance.now();
    const record = (outcome: string, status: number) => {
      const key = req.contextValues.get(verifiedKeyKey);
      const tier = key?.tier ?? "unknown";
      requests.inc({ tier, outcome });
      records?.record({
        keyId: key?.id ?? "",
        tier,
        route: req.method.name,
        outcome,
        status,
        latencyUs: BigInt(Math.round((performance.now() - started) * 1000)),
        timeMs: BigInt(Date.now()),
      });
    };
    try {
      const res = await next(req);
      record("ok", 200);
      return res;
    } catch (err) {
      const reason = reasonOf(ConnectError.from(err));
      record(outcomeByReason[reason] ?? "error", reasons[reason].http);
      throw err;
    }
  };
}

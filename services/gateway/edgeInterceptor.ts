// The gateway edge as one Connect interceptor, so Connect, gRPC, gRPC-Web and
// the REST transcoder all pass the same checks in the same order, in one pass:
//   admin routes: admin key (an API key gets 403);
//   external routes: kill switch → key present and well-formed → verify →
//   canary-only mode → rate limit → handler, then one usage record.
// Rate-limit headers go on the response, or on the error when one is thrown.
// A cached key with leased tokens is admitted without awaiting anything.
import { ConnectError, type Interceptor, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import type { ApiKey } from "../../gen/onering/v1/key_pb.js";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { looksLikeApiKey } from "../shared/apiKeyFormat.js";
import { meshError, reasonOf, reasons, type ErrorReason } from "../shared/errors.js";
import { secretsEqual } from "../shared/internalAuth.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";
import { TallyCounter } from "../shared/tallyMetrics.js";
import { callerKey, type Caller } from "./caller.js";
import { presentedCredential } from "./credentials.js";
import type { KeyVerifier } from "./keyVerifier.js";
import type { QuotaDecision, QuotaLeases } from "./quotaLeases.js";
import { rateLimitHeaders } from "./rateLimitHeaders.js";
import { isAdminMethod } from "./routeKinds.js";
import type { UsageRecorder } from "./usageRecorder.js";
import type { UsageTally } from "./usageTally.js";

export interface EdgeDeps {
  adminKey: string;
  flags: RuntimeFlags;
  verifier: KeyVerifier;
  quotas: QuotaLeases;
  usage: UsageTally;
  /** Where usage records of external requests go (MetricsService); none when switched off. */
  records: UsageRecorder | undefined;
  registry: Registry;
}

const outcomeByReason: Partial<Record<ErrorReason, string>> = {
  MISSING_API_KEY: "auth_failure",
  INVALID_API_KEY: "auth_failure",
  API_KEY_REVOKED: "auth_failure",
  RATE_LIMITED: "rate_limited",
  CANARY_ONLY_MODE: "canary_rejected",
  EXTERNAL_API_DISABLED: "disabled",
};

const canaryHeader = "x-canary-mode";

/** How far a call got through the edge, for its headers and its usage record. */
interface Passage {
  /** X-Canary-Mode as it stood when the call arrived. */
  mode: "true" | "false";
  key: ApiKey | undefined;
  quota: QuotaDecision | undefined;
}

type Call = UnaryRequest | StreamRequest;
type Next = (req: Call) => Promise<UnaryResponse | StreamResponse>;

/** The edge's response headers: canary mode always, the rate-limit set once a quota was decided. */
function setEdgeHeaders(target: Headers, passage: Passage): void {
  target.set(canaryHeader, passage.mode);
  if (passage.quota) rateLimitHeaders(passage.quota, target);
}

function withHeaders(err: unknown, passage: Passage): ConnectError {
  const error = ConnectError.from(err);
  setEdgeHeaders(error.metadata, passage);
  return error;
}

export function edgeInterceptor(deps: EdgeDeps): Interceptor {
  const adminMethods = new Set(GatewayService.methods.filter(isAdminMethod).map((m) => m.name));
  const requests = new TallyCounter({
    name: "onering_external_requests_total",
    help: "External API requests by key tier and outcome (ok, auth_failure, rate_limited, canary_rejected, disabled, error).",
    labelNames: ["tier", "outcome"],
    registry: deps.registry,
  });
  const refusals = new TallyCounter({
    name: "onering_gateway_refusals_total",
    help: "Requests the edge refused, by contract reason.",
    labelNames: ["reason"],
    registry: deps.registry,
  });
  const arrive = (): Passage => ({ mode: deps.flags.enabled("external_api_canary_only") ? "true" : "false", key: undefined, quota: undefined });

  const refuse = (err: unknown, passage: Passage): ConnectError => {
    const error = withHeaders(err, passage);
    refusals.child(reasonOf(error)).inc();
    return error;
  };

  const record = (req: Call, passage: Passage, started: number, outcome: string, status: number) => {
    const tier = passage.key?.tier ?? "unknown";
    requests.child(tier, outcome).inc();
    deps.records?.record(passage.key?.id ?? "", tier, req.method.name, outcome, status, (performance.now() - started) * 1000);
  };

  const recordFailure = (req: Call, passage: Passage, started: number, error: ConnectError) => {
    const reason = reasonOf(error);
    record(req, passage, started, outcomeByReason[reason] ?? "error", reasons[reason].http);
  };

  const admitAdmin = async (req: Call, next: Next) => {
    const passage = arrive();
    try {
      const credential = presentedCredential(req.header);
      if (!secretsEqual(credential, deps.adminKey)) {
        if (looksLikeApiKey(credential)) throw meshError("FORBIDDEN", "API keys cannot call admin or monitoring routes");
        throw meshError("INVALID_API_KEY", "invalid admin key");
      }
    } catch (err) {
      throw refuse(err, passage);
    }
    req.contextValues.set(callerKey, { kind: "admin" });
    try {
      const res = await next(req);
      setEdgeHeaders(res.header, passage);
      return res;
    } catch (err) {
      throw withHeaders(err, passage);
    }
  };

  const admitKey = async (req: Call, next: Next) => {
    const started = performance.now();
    const passage = arrive();
    let caller: Caller;
    try {
      if (!deps.flags.enabled("external_api_enabled")) throw meshError("EXTERNAL_API_DISABLED", "the external API is switched off");
      const verified = deps.verifier.verify(presentedCredential(req.header));
      const key = (passage.key = verified instanceof Promise ? await verified : verified);
      if (passage.mode === "true" && !key.canary) throw meshError("CANARY_ONLY_MODE", "only canary keys may call during canary-only mode");
      const taken = deps.quotas.take(key.id, Number(key.rateLimitPerHour));
      const quota = (passage.quota = taken instanceof Promise ? await taken : taken);
      if (!quota.admitted) throw meshError("RATE_LIMITED", `hourly limit of ${quota.limit} requests reached`);
      caller = { kind: "key", key, quota, usageCount: deps.usage.admit(key) };
    } catch (err) {
      const error = refuse(err, passage);
      recordFailure(req, passage, started, error);
      throw error;
    }
    req.contextValues.set(callerKey, caller);
    try {
      const res = await next(req);
      setEdgeHeaders(res.header, passage);
      record(req, passage, started, "ok", 200);
      return res;
    } catch (err) {
      const error = withHeaders(err, passage);
      recordFailure(req, passage, started, error);
      throw error;
    }
  };

  return (next) => (req) => {
    // GatewayService is unary only, so its requests carry one message.
    if (req.service.typeName !== GatewayService.typeName) return next(req);
    return adminMethods.has(req.method.name) ? admitAdmin(req, next) : admitKey(req, next);
  };
}

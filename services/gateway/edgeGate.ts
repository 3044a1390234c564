// The gateway's edge decision, in one pass and in one place:
//   admin routes: admin key (an API key gets 403);
//   external routes: kill switch → key present and well-formed → verify →
//   canary-only mode → rate limit, then one usage record when the call ends.
// Two entry points run it: edgeInterceptor.ts for Connect, gRPC and gRPC-Web,
// and restCalls.ts for REST, so every protocol meets the same checks in the
// same order. Rate-limit headers go on the response, or on the error when one
// is thrown. A cached key with leased tokens is admitted without awaiting anything.
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import type { ApiKey } from "../../gen/onering/v1/key_pb.js";
import { looksLikeApiKey } from "../shared/apiKeyFormat.js";
import { meshError, reasonOf, reasons, type ErrorReason } from "../shared/errors.js";
import { secretsEqual } from "../shared/internalAuth.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";
import { TallyCounter } from "../shared/tallyMetrics.js";
import type { Caller } from "./caller.js";
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

/** How far a call got through the edge: who it is, for the handler; its headers and usage record, for the end. */
export class Passage {
  key: ApiKey | undefined = undefined;
  quota: QuotaDecision | undefined = undefined;
  caller: Caller | undefined = undefined;

  constructor(
    readonly route: string,
    readonly admin: boolean,
    /** X-Canary-Mode as it stood when the call arrived. */
    readonly mode: "true" | "false",
    /** When the call began (performance.now()), for its usage record's latency. */
    readonly started: number,
  ) {}

  /** The edge's response headers: canary mode always, the rate-limit set once a quota was decided. */
  setHeaders(target: Headers): void {
    target.set(canaryHeader, this.mode);
    if (this.quota) rateLimitHeaders(this.quota, target);
  }
}

export class EdgeGate {
  private readonly adminMethods = new Set(GatewayService.methods.filter(isAdminMethod).map((m) => m.name));
  private readonly requests: TallyCounter;
  private readonly refusals: TallyCounter;

  constructor(private readonly deps: EdgeDeps) {
    this.requests = new TallyCounter({
      name: "onering_external_requests_total",
      help: "External API requests by key tier and outcome (ok, auth_failure, rate_limited, canary_rejected, disabled, error).",
      labelNames: ["tier", "outcome"],
      registry: deps.registry,
    });
    this.refusals = new TallyCounter({
      name: "onering_gateway_refusals_total",
      help: "Requests the edge refused, by contract reason.",
      labelNames: ["reason"],
      registry: deps.registry,
    });
  }

  /** Whether calls of this method pass the edge: GatewayService's do, internal services' never reach the gateway. */
  guards(method: DescMethod): boolean {
    return method.parent.typeName === GatewayService.typeName;
  }

  /**
   * Lets the call in, a plain value when nothing had to be awaited; a refusal
   * is thrown (or rejected) as a ConnectError carrying the edge's headers, already recorded.
   * `started` is when the call began, if the caller has read the clock already.
   */
  admit(method: DescMethod, header: Headers, started = performance.now()): Passage | Promise<Passage> {
    const admin = this.adminMethods.has(method.name);
    const passage = new Passage(method.name, admin, this.deps.flags.enabled("external_api_canary_only") ? "true" : "false", started);
    try {
      const checked = admin ? this.checkAdmin(passage, header) : this.checkKey(passage, header);
      return checked instanceof Promise ? checked.catch((err: unknown) => Promise.reject(this.refused(passage, err))) : checked;
    } catch (err) {
      throw this.refused(passage, err);
    }
  }

  /** The call ended well: the edge's headers on its response, and its usage record. */
  passed(passage: Passage, responseHeader: Headers): void {
    passage.setHeaders(responseHeader);
    if (!passage.admin) this.record(passage, "ok", 200);
  }

  /** The call failed after admission: its error with the edge's headers, recorded. */
  failed(passage: Passage, err: unknown): ConnectError {
    const error = withHeaders(err, passage);
    if (!passage.admin) this.recordFailure(passage, error);
    return error;
  }

  private checkAdmin(passage: Passage, header: Headers): Passage {
    const credential = presentedCredential(header);
    if (!secretsEqual(credential, this.deps.adminKey)) {
      if (looksLikeApiKey(credential)) throw meshError("FORBIDDEN", "API keys cannot call admin or monitoring routes");
      throw meshError("INVALID_API_KEY", "invalid admin key");
    }
    passage.caller = { kind: "admin" };
    return passage;
  }

  private checkKey(passage: Passage, header: Headers): Passage | Promise<Passage> {
    if (!this.deps.flags.enabled("external_api_enabled")) throw meshError("EXTERNAL_API_DISABLED", "the external API is switched off");
    const verified = this.deps.verifier.verify(presentedCredential(header), header);
    return verified instanceof Promise ? verified.then((key) => this.checkQuota(passage, key)) : this.checkQuota(passage, verified);
  }

  private checkQuota(passage: Passage, key: ApiKey): Passage | Promise<Passage> {
    passage.key = key;
    if (passage.mode === "true" && !key.canary) throw meshError("CANARY_ONLY_MODE", "only canary keys may call during canary-only mode");
    const taken = this.deps.quotas.take(key.id, Number(key.rateLimitPerHour));
    return taken instanceof Promise ? taken.then((quota) => this.checkAdmitted(passage, key, quota)) : this.checkAdmitted(passage, key, taken);
  }

  private checkAdmitted(passage: Passage, key: ApiKey, quota: QuotaDecision): Passage {
    passage.quota = quota;
    if (!quota.admitted) throw meshError("RATE_LIMITED", `hourly limit of ${quota.limit} requests reached`);
    passage.caller = { kind: "key", key, quota, usageCount: this.deps.usage.admit(key) };
    return passage;
  }

  private refused(passage: Passage, err: unknown): ConnectError {
    const error = withHeaders(err, passage);
    this.refusals.child(reasonOf(error)).inc();
    if (!passage.admin) this.recordFailure(passage, error);
    return error;
  }

  private record(passage: Passage, outcome: string, status: number): void {
    const tier = passage.key?.tier ?? "unknown";
    this.requests.child(tier, outcome).inc();
    this.deps.records?.record(passage.key?.id ?? "", tier, passage.route, outcome, status, (performance.now() - passage.started) * 1000);
  }

  private recordFailure(passage: Passage, error: ConnectError): void {
    const reason = reasonOf(error);
    this.record(passage, outcomeByReason[reason] ?? "error", reasons[reason].http);
  }
}

function withHeaders(err: unknown, passage: Passage): ConnectError {
  const error = ConnectError.from(err);
  passage.setHeaders(error.metadata);
  return error;
}

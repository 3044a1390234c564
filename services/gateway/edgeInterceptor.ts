// The gateway edge as one Connect interceptor, so Connect, gRPC, gRPC-Web and
// the REST transcoder all pass the same checks in the same order:
//   admin routes: admin key (an API key gets 403);
//   external routes: kill switch → key present and well-formed → verify →
//   canary-only mode → rate limit → handler.
// Rate-limit headers go on the response, or on the error when one is thrown.
import { ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { looksLikeApiKey } from "../shared/apiKeyFormat.js";
import { meshError } from "../shared/errors.js";
import { secretsEqual } from "../shared/internalAuth.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";
import { HeaderMap } from "../shared/headerMap.js";
import { callerKey, verifiedKeyKey, type Caller } from "./caller.js";
import { presentedCredential } from "./credentials.js";
import type { KeyVerifier } from "./keyVerifier.js";
import type { QuotaLeases } from "./quotaLeases.js";
import { rateLimitHeaders } from "./rateLimitHeaders.js";
import { isAdminMethod } from "./routeKinds.js";
import type { UsageTally } from "./usageTally.js";

export interface EdgeDeps {
  adminKey: string;
  flags: RuntimeFlags;
  verifier: KeyVerifier;
  quotas: QuotaLeases;
  usage: UsageTally;
  /** Called with each refusal of the edge itself, e.g. to count it by reason. */
  onRefused?: (err: ConnectError) => void;
}

function authenticateAdmin(header: Headers, adminKey: string): Caller {
  const credential = presentedCredential(header);
  if (secretsEqual(credential, adminKey)) return { kind: "admin" };
  if (looksLikeApiKey(credential)) throw meshError("FORBIDDEN", "API keys cannot call admin or monitoring routes");
  throw meshError("INVALID_API_KEY", "invalid admin key");
}

async function authenticateKey(header: Headers, values: ContextValues, deps: EdgeDeps, response: Headers): Promise<Caller> {
  if (!deps.flags.enabled("external_api_enabled")) throw meshError("EXTERNAL_API_DISABLED", "the external API is switched off");
  const key = await deps.verifier.verify(presentedCredential(header));
  values.set(verifiedKeyKey, key);
  if (deps.flags.enabled("external_api_canary_only") && !key.canary) {
    throw meshError("CANARY_ONLY_MODE", "only canary keys may call during canary-only mode");
  }
  const quota = await deps.quotas.take(key.id, Number(key.rateLimitPerHour));
  rateLimitHeaders(quota, response);
  if (!quota.admitted) throw meshError("RATE_LIMITED", `hourly limit of ${quota.limit} requests reached`);
  return { kind: "key", key, quota, usageCount: deps.usage.admit(key) };
}

function withHeaders(err: unknown, response: Headers): ConnectError {
  const error = ConnectError.from(err);
  response.forEach((value, name) => error.metadata.set(name, value));
  return error;
}

export function edgeInterceptor(deps: EdgeDeps): Interceptor {
  const adminMethods = new Set(GatewayService.methods.filter(isAdminMethod).map((m) => m.name));
  return (next) => async (req) => {
    if (req.service.typeName !== GatewayService.typeName) return next(req);
    const response = new HeaderMap();
    response.set("x-canary-mode", String(deps.flags.enabled("external_api_canary_only")));
    let caller: Caller;
    try {
      caller = adminMethods.has(req.method.name) ? authenticateAdmin(req.header, deps.adminKey) : await authenticateKey(req.header, req.contextValues, deps, response);
    } catch (err) {
      const error = withHeaders(err, response);
      deps.onRefused?.(error);
      throw error;
    }
    req.contextValues.set(callerKey, caller);
    try {
      const res = await next(req);
      response.forEach((value, name) => res.header.set(name, value));
      return res;
    } catch (err) {
      throw withHeaders(err, response);
    }
  };
}

// What the generated OpenAPI document says about the gateway beyond the
// protos: its title, servers, how callers authenticate, and which headers each
// response carries (DESIGN.md, "REST surface"): rate-limit headers only on
// API-key routes once the key is known, X-Canary-Mode on every route.
import type { DescMethod } from "@bufbuild/protobuf";
import { reasons } from "../shared/errors.js";
import type { OpenApiInfo, ResponseHeader } from "../shared/transcoding/openapi.js";
import { isAdminMethod } from "./routeKinds.js";

const integer = { type: "integer" };

const canaryMode: Record<string, ResponseHeader> = {
  "X-Canary-Mode": { description: "Whether canary-only mode is on.", schema: { type: "string", enum: ["true", "false"] } },
};

const rateLimit = (required: boolean): Record<string, ResponseHeader> => ({
  "X-RateLimit-Limit": { description: "Requests allowed per hour for this key.", schema: integer, required },
  "X-RateLimit-Remaining": { description: "Requests left in the current window.", schema: integer, required },
  "X-RateLimit-Reset": { description: "When the window resets, Unix seconds.", schema: integer, required },
});

// Refused before the key's quota is read: no key, a bad key, the API switched
// off, or a request the router itself turns away.
const beforeQuota = new Set([401, 405, 503, 500, 501]);

function responseHeaders(method: DescMethod, status: number): Record<string, ResponseHeader> {
  if (isAdminMethod(method)) return canaryMode;
  if (status === reasons.RATE_LIMITED.http) {
    return { ...canaryMode, ...rateLimit(true), "Retry-After": { description: "Seconds until the window resets.", schema: integer, required: true } };
  }
  if (status === 200) return { ...canaryMode, ...rateLimit(true) };
  // A 403 is CANARY_ONLY_MODE (before the quota is taken) or a 4xx of the call itself (after).
  return beforeQuota.has(status) ? canaryMode : { ...canaryMode, ...rateLimit(false) };
}

export const gatewayOpenApiInfo: OpenApiInfo = {
  title: "OneRing mesh API",
  version: "v1",
  description:
    "External API and webhooks. JSON uses proto field names (snake_case); 64-bit integers are written as strings. Errors use one shape: code, message, recovery, request_id, violations.",
  // The repository declares no licence; a LicenseRef names the terms until it does.
  license: { name: "Proprietary", identifier: "LicenseRef-OneRing-Proprietary" },
  // Relative: the gateway that serves this document (npm start: http://localhost:8080).
  servers: [{ url: "/", description: "The gateway serving this document." }],
  securitySchemes: {
    bearer: { type: "http", scheme: "bearer", description: "An API key (sk_live_… or sk_test_…), or the admin key on admin and monitoring routes." },
    apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key, as an alternative to the Authorization header." },
  },
  responseHeaders,
};

// What the generated OpenAPI document says about the gateway beyond the
// protos: its title, how callers authenticate and the headers on every response.
import type { OpenApiInfo } from "../shared/transcoding/openapi.js";

const integerHeader = { type: "integer" };

export const gatewayOpenApiInfo: OpenApiInfo = {
  title: "OneRing mesh API",
  version: "v1",
  description: "External API and webhooks. JSON uses proto field names (snake_case). Errors use one shape: code, message, recovery, request_id, violations.",
  securitySchemes: {
    bearer: { type: "http", scheme: "bearer", description: "An API key (sk_live_… or sk_test_…), or the admin key on admin and monitoring routes." },
    apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key, as an alternative to the Authorization header." },
  },
  responseHeaders: {
    "X-RateLimit-Limit": { description: "Requests allowed per hour for this key.", schema: integerHeader },
    "X-RateLimit-Remaining": { description: "Requests left in the current window.", schema: integerHeader },
    "X-RateLimit-Reset": { description: "When the window resets, Unix seconds.", schema: integerHeader },
    "X-Canary-Mode": { description: "Whether canary-only mode is on.", schema: { type: "string", enum: ["true", "false"] } },
  },
};

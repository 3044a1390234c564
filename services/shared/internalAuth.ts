// Service-to-service auth: every internal RPC carries the shared internal
// token; health and reflection stay open so probes and grpcurl work.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { meshError } from "./errors.js";

const openServices = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Constant-time comparison that does not leak the length of either side. */
export function secretsEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The bearer token of an `authorization` header, if any. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** Rejects calls that do not present one of the accepted tokens. */
export function requireToken(accepted: string[]): Interceptor {
  // The accepted side is hashed once, not on every call.
  const acceptedDigests = accepted.map(digest);
  return (next) => async (req) => {
    if (!openServices.has(req.service.typeName)) {
      const token = bearerToken(req.header.get("authorization"));
      if (token === undefined) throw meshError("UNAUTHENTICATED", "missing bearer token");
      const presented = digest(token);
      if (!acceptedDigests.some((d) => timingSafeEqual(presented, d))) throw meshError("UNAUTHENTICATED", "invalid bearer token");
    }
    return next(req);
  };
}

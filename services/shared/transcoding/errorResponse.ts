// The one REST error shape (DESIGN.md, "Errors"):
//   {"code","message","recovery","request_id","violations"?}
// built from any error through the shared catalogue, so REST and Connect/gRPC
// clients see the same reason for the same failure.
import { Code, ConnectError } from "@connectrpc/connect";
import { reasonOf, reasons, violationsOf, type ErrorReason, type Violation } from "../errors.js";

export interface ErrorBody {
  code: ErrorReason;
  message: string;
  recovery: string;
  request_id: string;
  violations?: Violation[];
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** Headers the error carries (ConnectError.metadata), e.g. Retry-After. */
  headers: Headers;
}

export function errorResponse(cause: unknown, requestId: string): ErrorResponse {
  // Only ConnectErrors are meant for callers; anything else may hold internals.
  const err = cause instanceof ConnectError ? cause : new ConnectError("internal error", Code.Internal);
  const code = reasonOf(err);
  const violations = violationsOf(err);
  const body: ErrorBody = { code, message: err.rawMessage, recovery: reasons[code].recovery, request_id: requestId };
  if (violations.length > 0) body.violations = violations;
  // Wherever UNAVAILABLE arose (a lost database, an internal call passed on
  // without its headers), the caller is told when to retry (DESIGN.md, "Errors").
  let headers = err.metadata;
  if (code === "UNAVAILABLE" && !headers.has("retry-after")) {
    headers = new Headers(headers);
    headers.set("retry-after", "1");
  }
  return { status: reasons[code].http, body, headers };
}

// The contract's error catalogue (DESIGN.md, "Errors"): one reason string per
// failure, carried to Connect/gRPC clients as a google.rpc.ErrorInfo detail and
// to REST clients as {"code","message","recovery","request_id","violations"}.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

export const errorDomain = "onering.dev";

interface Reason {
  code: Code;
  http: number;
  recovery: string;
}

export const reasons = {
  EXTERNAL_API_DISABLED: { code: Code.Unavailable, http: 503, recovery: "The external API is switched off by the operator; retry later." },
  MISSING_API_KEY: { code: Code.Unauthenticated, http: 401, recovery: "Send your key as 'Authorization: Bearer sk_live_…' or 'X-API-Key'." },
  INVALID_API_KEY: { code: Code.Unauthenticated, http: 401, recovery: "Check the key for typos; create a new one if it was lost." },
  API_KEY_REVOKED: { code: Code.Unauthenticated, http: 401, recovery: "This key was revoked or its rotation grace ended; use the current key." },
  CANARY_ONLY_MODE: { code: Code.PermissionDenied, http: 403, recovery: "Only canary keys may call during this rollout stage; retry later or use a canary key." },
  RATE_LIMITED: { code: Code.ResourceExhausted, http: 429, recovery: "Wait until the time in Retry-After, then retry." },
  WEBHOOKS_DISABLED: { code: Code.Unavailable, http: 503, recovery: "Webhooks are switched off by the operator; retry later." },
  INVALID_ARGUMENT: { code: Code.InvalidArgument, http: 400, recovery: "Fix the fields listed in 'violations' and send the request again." },
  PAYLOAD_TOO_LARGE: { code: Code.InvalidArgument, http: 413, recovery: "Send a smaller body." },
  UNSUPPORTED_MEDIA_TYPE: { code: Code.InvalidArgument, http: 415, recovery: "Send the body as JSON with 'Content-Type: application/json'." },
  NOT_FOUND: { code: Code.NotFound, http: 404, recovery: "Check the id; resources of other keys are not visible." },
  METHOD_NOT_ALLOWED: { code: Code.Unimplemented, http: 405, recovery: "Use one of the methods listed in the Allow header." },
  FORBIDDEN: { code: Code.PermissionDenied, http: 403, recovery: "This route needs the admin key." },
  WEBHOOK_DISABLED: {
    code: Code.FailedPrecondition,
    http: 409,
    recovery: 'Enable the webhook (PATCH /v1/external/webhooks/{id} with {"enabled": true}), then replay; a deleted webhook takes no replays.',
  },
  UNAUTHENTICATED: { code: Code.Unauthenticated, http: 401, recovery: "Send the internal token or admin key this service expects." },
  UNAVAILABLE: { code: Code.Unavailable, http: 503, recovery: "A backing service is briefly unreachable; retry after Retry-After seconds, with backoff." },
  UNIMPLEMENTED: { code: Code.Unimplemented, http: 501, recovery: "This operation is not available yet." },
  INTERNAL: { code: Code.Internal, http: 500, recovery: "Retry later; if it persists, report the request_id." },
} satisfies Record<string, Reason>;

export type ErrorReason = keyof typeof reasons;

/** A field that failed validation, as in google.rpc.BadRequest. */
export interface Violation {
  field: string;
  description: string;
}

/** Builds the ConnectError for a contract reason. */
export function meshError(reason: ErrorReason, message: string, violations: Violation[] = []): ConnectError {
  const details = [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: errorDomain }) }];
  if (violations.length > 0) {
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: violations }),
    } as never);
  }
  return new ConnectError(message, reasons[reason].code, undefined, details);
}

/** INVALID_ARGUMENT listing every violation. */
export function invalidArgument(violations: Violation[]): ConnectError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return meshError("INVALID_ARGUMENT", summary, violations);
}

const reasonByCode: Partial<Record<Code, ErrorReason>> = {
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.NotFound]: "NOT_FOUND",
  [Code.PermissionDenied]: "FORBIDDEN",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DeadlineExceeded]: "UNAVAILABLE",
  [Code.ResourceExhausted]: "RATE_LIMITED",
  [Code.Unimplemented]: "UNIMPLEMENTED",
};

/** The contract reason of any error: its ErrorInfo, else one derived from its code. */
export function reasonOf(err: ConnectError): ErrorReason {
  const info = err.findDetails(ErrorInfoSchema)[0];
  if (info && info.reason in reasons) return info.reason as ErrorReason;
  return reasonByCode[err.code] ?? "INTERNAL";
}

/** The field violations an error carries, if any. */
export function violationsOf(err: ConnectError): Violation[] {
  return err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map(({ field, description }) => ({ field, description })));
}

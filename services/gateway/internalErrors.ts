// Errors of internal calls, passed on to the gateway's caller with the same
// contract reason; transport failures become UNAVAILABLE (503), never 500.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { meshError } from "../shared/errors.js";

// Aborted: connect-node's code for a connection reset mid-call (the peer was killed).
const unreachable = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Canceled, Code.Unknown, Code.Aborted]);

/**
 * Rebuilds the error without the internal response's headers and trailers
 * (gRPC content type, grpc-status), which must not leak into our response.
 */
export function passOn(err: unknown, service: string): ConnectError {
  const error = ConnectError.from(err);
  const hasReason = error.findDetails(ErrorInfoSchema).length > 0;
  if (!hasReason && unreachable.has(error.code)) return meshError("UNAVAILABLE", `${service} is unreachable`);
  const copy = new ConnectError(error.rawMessage, error.code);
  copy.details.push(...error.details);
  return copy;
}

/** Awaits an internal call, passing its failure on with `passOn`. */
export async function forwarded<T>(call: Promise<T>, service: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw passOn(err, service);
  }
}

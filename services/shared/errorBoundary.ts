// Where every service settles a handler's error, on Connect, gRPC and REST
// alike. main.ts puts it last among the interceptors, right around the
// handler, so that metrics, usage records and the gateway's edge (which wraps
// what it catches in a ConnectError to add its headers) see the settled error:
//   a contract error (ConnectError) passes;
//   a lost or refused Postgres/NATS connection becomes UNAVAILABLE, which
//   callers retry, so a database restart never answers 500 (the outage shows
//   in /readyz and the drivers' own warnings, not in a line per refused call);
//   anything else is a bug: logged here, once, with the request id, then
//   answered as a bare INTERNAL, since its message may hold internals.
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { isConnectionLoss } from "./connectionLoss.js";
import { meshError } from "./errors.js";
import { loggableError } from "./loggableError.js";
import type { Logger } from "./logger.js";
import { requestIdOf } from "./requestId.js";

/** The contract error a client gets for `err`, from a call with these request headers; an unexpected one is logged first. */
export function contractError(err: unknown, logger: Logger, method: string, requestHeader: Headers): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isConnectionLoss(err)) return meshError("UNAVAILABLE", "a backing service is unreachable");
  logger.error({ method, request_id: requestIdOf(requestHeader), error: loggableError(err) }, "unexpected error");
  return meshError("INTERNAL", "internal error");
}

export function errorBoundary(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw contractError(err, logger, req.method.name, req.header);
    }
  };
}

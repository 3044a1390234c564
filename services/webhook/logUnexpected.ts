// Errors that are not contract errors (a bug, a lost database) reach clients as
// a bare INTERNAL; log them here with the method so operators can see why.
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../shared/logger.js";

export function logUnexpectedErrors(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (!(err instanceof ConnectError)) logger.error({ method: req.method.name, err }, "unexpected error");
      throw err;
    }
  };
}

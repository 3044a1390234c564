// One id per request, on every response (X-Request-Id), in every log line and
// on every internal call it causes. A caller's own id is kept when it is safe
// to echo and log; anything else is replaced, never trusted.
// serve() writes the accepted id back into the request's headers, so whatever
// serves the call reads it there (requestIdOf) and passes it on explicitly:
// AsyncLocalStorage would carry it implicitly, but on Node 20 its hook runs for
// every promise and async resource of the process (docs/PERFORMANCE.md).
import { randomUUID } from "node:crypto";

export const requestIdHeader = "x-request-id";

const acceptable = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's id when it is 1–128 of [A-Za-z0-9._-], else a fresh one. */
export function acceptRequestId(presented: string | string[] | null | undefined): string {
  return typeof presented === "string" && acceptable.test(presented) ? presented : randomUUID();
}

/** The id of the call these request headers belong to, as serve() accepted it. */
export function requestIdOf(header: Headers): string | undefined {
  return header.get(requestIdHeader) ?? undefined;
}

// One id per request, on every response (X-Request-Id), in every log line and
// on every internal call it causes. A caller's own id is kept when it is safe
// to echo and log; anything else is replaced, never trusted.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

export const requestIdHeader = "x-request-id";

const acceptable = /^[A-Za-z0-9._-]{1,128}$/;
const current = new AsyncLocalStorage<string>();

/** The caller's id when it is 1–128 of [A-Za-z0-9._-], else a fresh one. */
export function acceptRequestId(presented: string | string[] | null | undefined): string {
  return typeof presented === "string" && acceptable.test(presented) ? presented : randomUUID();
}

/** Runs `fn` with `id` as the current request id (for logs and internal calls). */
export function withRequestId<T>(id: string, fn: () => T): T {
  return current.run(id, fn);
}

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return current.getStore();
}

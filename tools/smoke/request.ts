// One HTTP request of the smoke test. A request that gets no answer fails naming
// the URL it tried and which process that is: a bare "fetch failed" names neither.

export class PhaseFailure extends Error {}

/** fetch's options, plus the bearer key to send. */
export type RequestOptions = RequestInit & { key?: string };

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * Sends `init` to `base + path` and parses the JSON body. `target` names the
 * process at `base` for the failure message, e.g.
 * `cannot reach http://127.0.0.1:9180 (backend): connect ECONNREFUSED`.
 */
export async function request(target: string, base: string, path: string, init: RequestOptions = {}): Promise<Reply> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  if (init.body) headers.set("content-type", "application/json");
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { ...init, headers });
  } catch (err) {
    throw new PhaseFailure(`cannot reach ${base} (${target}): ${networkReason(err)}`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * fetch rejects with "fetch failed" and keeps the reason in `cause`: a socket
 * error's system call and code (its address is the URL's, named already), or
 * else the cause's message, or its code alone (a connection refused on every
 * address of a name comes as an AggregateError with a code and no message).
 */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { syscall?: string; code?: string; message?: string } }).cause;
  if (cause?.syscall && cause.code) return `${cause.syscall} ${cause.code}`;
  return cause?.message || cause?.code || (err instanceof Error ? err.message : String(err));
}

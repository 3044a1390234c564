// The URLs the smoke test is given, checked and turned into the ones it calls.

export interface SinkUrls {
  /** Where the sink's control routes live (`PUT /secrets`, `GET /deliveries`). */
  origin: string;
  /** What the subscription delivers to. */
  receive: string;
}

/**
 * The sink serves every route at its root, so any URL on it will do: its base
 * (`http://localhost:9090`) or its receive URL (`…/webhook`), as people copy either.
 */
export function sinkUrls(given: string): SinkUrls {
  const { origin } = httpUrl(given, "--webhook-sink");
  return { origin, receive: `${origin}/webhook` };
}

/** The gateway's base URL without a trailing slash, so paths can be appended. */
export function backendBase(given: string): string {
  return httpUrl(given, "--backend-url").href.replace(/\/+$/, "");
}

function httpUrl(given: string, option: string): URL {
  const url = URL.canParse(given) ? new URL(given) : undefined;
  if (url?.protocol !== "http:" && url?.protocol !== "https:") throw new Error(`${option} must be an http:// or https:// URL, got "${given}"`);
  return url;
}

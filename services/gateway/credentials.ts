// The credential of a request: `Authorization: Bearer …` or `X-API-Key: …`.
// It is never logged; only its shape is inspected here.
import { meshError } from "../shared/errors.js";
import { bearerToken } from "../shared/internalAuth.js";

/** The presented credential; a malformed Authorization header fails as INVALID_API_KEY. */
export function presentedCredential(header: Headers): string {
  const authorization = header.get("authorization");
  // "Bearer" with nothing after it presents no key at all.
  if (authorization !== null && !/^\s*(Bearer\s*)?$/i.test(authorization)) {
    const token = bearerToken(authorization);
    if (token === undefined) throw meshError("INVALID_API_KEY", "the Authorization header must be 'Bearer <key>'");
    return token;
  }
  const apiKey = header.get("x-api-key")?.trim();
  if (!apiKey) throw meshError("MISSING_API_KEY", "no API key: send 'Authorization: Bearer <key>' or 'X-API-Key'");
  return apiKey;
}

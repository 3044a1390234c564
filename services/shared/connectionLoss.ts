// Whether an error means a backing service (Postgres, NATS) could not be
// reached or dropped the connection: the caller can retry in a moment, so such
// errors answer UNAVAILABLE, never INTERNAL. Judged by codes, names and the
// drivers' fixed messages rather than classes: drizzle wraps the driver's error
// in `cause`, node-postgres gives its own connection errors no code, and NATS
// errors reach us from more than one copy of its packages.

// Node's socket errors, which node-postgres passes on as they are.
const socketCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

// SQLSTATE: class 08 is "connection exception"; the server shutting down or
// starting up, and a full connection table, refuse work the same way.
const postgresStates = /^(08...|57P0[123]|53300)$/;

// node-postgres and pg-pool: a connection that ended, a client left unusable
// by one, no connection within connectionTimeoutMillis, no answer within
// query_timeout, a pool ended by shutdown.
const postgresMessages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^Query read timeout$/,
  /^Cannot use a pool after calling end on the pool$/,
];

// @nats-io: the connection is down, closed or draining, a request or publish
// timed out, or nothing answered (JetStream reports a missing stream leader so).
const natsNames = new Set(["ConnectionError", "ClosedConnectionError", "DrainingConnectionError", "TimeoutError", "NoResponders", "JetStreamNotEnabled"]);

function isLoss(err: Error & { code?: unknown; status?: unknown }): boolean {
  if (typeof err.code === "string" && (socketCodes.has(err.code) || postgresStates.test(err.code))) return true;
  if (natsNames.has(err.name)) return true;
  // A JetStream API answer of 503: "JetStream system temporarily unavailable".
  if (err.name === "JetStreamApiError" && err.status === 503) return true;
  return postgresMessages.some((m) => m.test(err.message));
}

/** True when `err`, or any error in its `cause` chain, is a lost or refused connection. */
export function isConnectionLoss(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (isLoss(e)) return true;
  }
  return false;
}

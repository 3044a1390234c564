// Structured JSON logs, one line per event. Secrets never reach a log line:
// the redact paths cover every place a key, token or signing secret can sit.
import { pino, type Logger } from "pino";
import { currentRequestId } from "./requestId.js";

export type { Logger };

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every line logged while serving a request names it, so one id finds the whole trail.
    mixin: () => {
      const requestId = currentRequestId();
      return requestId === undefined ? {} : { request_id: requestId };
    },
    redact: {
      paths: ["secret", "*.secret", "authorization", "*.authorization", "headers.authorization", "*.headers.authorization", "adminKey", "internalToken", "apiKey", "*.apiKey"],
      censor: "[redacted]",
    },
  });
}

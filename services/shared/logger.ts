// Structured JSON logs, one line per event. Secrets never reach a log line:
// the redact paths cover every place a key, token or signing secret can sit,
// and a failed call's error is logged as loggableError() describes it, without
// the query parameters and row values a database error carries.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { currentTraceIds } from "./tracing.js";

export type { Logger };

/** `destination` is stdout unless given (tests read the lines back). */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info", destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A line logged while serving a request names it (request_id, passed by the
    // caller: see requestId.ts); inside a trace the line also names the trace and span.
    mixin: () => currentTraceIds() ?? {},
    redact: {
      paths: ["secret", "*.secret", "authorization", "*.authorization", "headers.authorization", "*.headers.authorization", "adminKey", "internalToken", "apiKey", "*.apiKey"],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

// Runs a process's start function: a configuration error ends it with the
// message naming the variable; SIGTERM and SIGINT stop it gracefully. Tracing
// (OTEL_* variables) starts first and is flushed last.
import { ConfigError } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { stopWhenParentGoes } from "./parentPipe.js";
import { exitOnSignal, type RunningServer } from "./server.js";
import { startTracing } from "./tracing.js";

export function processMain(processName: string, start: (logger: Logger) => Promise<RunningServer>): void {
  const logger = createLogger(processName);
  // Before start-up, too: SIGTERM's default action ends a process still starting.
  // Nobody reads stdout once the launcher is gone, and a log line written there
  // left a process spinning in pino's synchronous write retry, never exiting.
  stopWhenParentGoes(() => {
    logger.level = "silent";
  });
  let stopTracing: (() => Promise<void>) | undefined;
  const started = async () => {
    stopTracing = await startTracing(processName);
    return start(logger);
  };
  started().then(
    (server) => {
      // Spans still batched go out before the process exits.
      const flushing: RunningServer = { ...server, close: () => server.close().then(() => stopTracing?.()) };
      exitOnSignal(stopTracing ? flushing : server, logger);
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        logger.fatal({ variable: err.variable }, err.message);
        process.stderr.write(`${processName}: ${err.message}\n`);
      } else {
        logger.fatal({ err }, "start-up failed");
      }
      process.exit(1);
    },
  );
}

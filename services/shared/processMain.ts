// Runs a process's start function: a configuration error ends it with the
// message naming the variable; SIGTERM and SIGINT stop it gracefully.
import { ConfigError } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { stopWhenParentGoes } from "./parentPipe.js";
import { exitOnSignal, type RunningServer } from "./server.js";

export function processMain(processName: string, start: (logger: Logger) => Promise<RunningServer>): void {
  const logger = createLogger(processName);
  // Before start-up, too: SIGTERM's default action ends a process still starting.
  stopWhenParentGoes();
  start(logger).then(
    (server) => exitOnSignal(server, logger),
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

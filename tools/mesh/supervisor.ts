// The children of `npm start`: their output prefixed with their name, one
// exit stopping the mesh loudly, and an orderly stop: services first (they
// drain onto the database and NATS), then the backing servers.
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

interface Supervised {
  name: string;
  child: ChildProcess;
  stop: () => Promise<unknown>;
}

/** How long a service may drain before it is killed; the whole stop stays under 10 s. */
const serviceStopMs = 7_000;

export class Supervisor {
  private readonly services: Supervised[] = [];
  private readonly backing: Supervised[] = [];
  stopping = false;

  /** A mesh process: stopped with SIGTERM. */
  addService(name: string, child: ChildProcess): void {
    this.watch(name, child);
    this.services.push({ name, child, stop: () => terminate(child, serviceStopMs) });
  }

  /** A backing server (PostgreSQL, NATS): stopped after every service, its own way. */
  addBacking(name: string, child: ChildProcess, stop: () => Promise<unknown>): void {
    this.watch(name, child);
    this.backing.push({ name, child, stop });
  }


  /** Stops everything once (a second call is a no-op) and exits with code. */
  async stopAll(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.services.map((s) => s.stop()));
    await Promise.all(this.backing.reverse().map((s) => s.stop()));
    process.exit(code);
  }

  private watch(name: string, child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${name.padEnd(14)} | ${line}\n`));
    }
    // Nothing restarts silently: one process gone stops the mesh, loudly.
    child.once("exit", (code, signal) => {
      if (this.stopping) return;
      process.stderr.write(`${name.padEnd(14)} | exited (${signal ?? code}); stopping the mesh\n`);
      void this.stopAll(1);
    });
  }
}

function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

// Runs a server binary (postgres, nats-server) so that it cannot outlive the
// launcher: a tiny sh stays between them and reads the launcher's pipe on its
// stdin. The pipe closes when the launcher stops it on purpose and when the
// launcher is SIGKILLed alike, and either way the guard signals the server and
// exits with it. Node children need no guard: processMain watches the same pipe.
import { spawn, type ChildProcess } from "node:child_process";

// $0 is the binary, "$@" its arguments, $1 of the outer -c the stop signal.
// A background list's stdin is /dev/null in a non-interactive sh, so the
// watcher reads the pipe through fd 3.
const guardScript = `
signal=$1; shift
exec 3<&0
"$0" "$@" </dev/null &
server=$!
{ cat >/dev/null; kill -s "$signal" "$server" 2>/dev/null; } <&3 &
watcher=$!
exec 3<&-
wait "$server"; status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

export interface GuardedSpawnOptions {
  /** How the server wants to be asked to stop (postgres: INT, a fast shutdown). */
  stopSignal: "INT" | "TERM";
  env?: NodeJS.ProcessEnv;
  /** Run as this OS user (postgres refuses root). */
  uid?: number;
  gid?: number;
}

/** Spawns binary under the guard; `stopGuarded(child)` stops it. */
export function spawnGuarded(binary: string, args: string[], options: GuardedSpawnOptions): ChildProcess {
  return spawn("/bin/sh", ["-c", guardScript, binary, options.stopSignal, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
  });
}

/** Asks a guarded server to stop and resolves with its exit code once it has. */
export function stopGuarded(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdin?.end();
  return exited;
}

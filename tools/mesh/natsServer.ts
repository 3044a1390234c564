// Finds a reachable NATS or starts a private nats-server with JetStream.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";
import { spawnGuarded, stopGuarded } from "./parentGuard.js";

export function natsReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 4222) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export function natsServerOnPath(): boolean {
  return spawnSync("nats-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Starts `nats-server -js` on 127.0.0.1:port with its store in storeDir. Guarded
 * (for `npm start`), it cannot outlive this process and `stopGuarded` stops it;
 * unguarded (for fault tests), signals reach the server itself.
 */
export async function startNatsServer(port: number, storeDir: string, guarded = false): Promise<ChildProcess> {
  const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];
  const child = guarded ? spawnGuarded("nats-server", args, { stopSignal: "TERM" }) : spawn("nats-server", args, { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    if (await natsReachable(url, 200)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (guarded) await stopGuarded(child);
  else child.kill();
  throw new Error(`nats-server did not start on ${url}`);
}

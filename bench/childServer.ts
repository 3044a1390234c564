// Baseline servers run in a child process of their own, like the mesh's, so
// every server under test gets the same share of the machine. The child
// prints one JSON line with its ports once it listens.
import { spawn, type ChildProcess } from "node:child_process";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { repoRoot } from "../tools/mesh/processes.js";

export interface ChildServer {
  ports: Record<string, number>;
  pid: number;
  stop(): Promise<void>;
}

export async function startChildServer(entry: string): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", entry], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  const firstLine = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${entry} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once("line", resolve);
  });
  return {
    ports: JSON.parse(firstLine) as Record<string, number>,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Listens on a free 127.0.0.1 port; for the child scripts. */
export async function listenLocal(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

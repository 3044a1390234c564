// A NATS cluster with JetStream on loopback ports, each server with its own
// store, for fault tests that kill one server and start it again.
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { natsReachable } from "../../tools/mesh/natsServer.js";
import { freePort } from "./mesh.js";

interface NatsNode {
  name: string;
  url: string;
  args: string[];
  child: ChildProcess;
}

export interface NatsCluster {
  /** Every server's client URL, comma-separated, the way NATS_URL takes them. */
  url: string;
  /** Each server's name (`--server_name`, as JetStream reports leaders and peers) and client URL. */
  servers: { name: string; url: string }[];
  /** SIGKILLs one server and waits until it has exited. */
  kill(name: string): Promise<void>;
  /** Starts a killed server again on its ports and store; it then catches up from its peers. */
  restart(name: string): Promise<void>;
  /** Kills every server and removes their stores. */
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

async function killNode(node: NatsNode): Promise<void> {
  if (exited(node.child)) return;
  const gone = new Promise((resolve) => node.child.once("exit", resolve));
  node.child.kill("SIGKILL");
  await gone;
}

async function launch(node: Omit<NatsNode, "child">, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn("nats-server", node.args, { stdio: "ignore" });
  const deadline = Date.now() + timeoutMs;
  while (!(await natsReachable(node.url, 200))) {
    if (exited(child) || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server ${node.name} did not start on ${node.url}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

/**
 * Resolves once JetStream can place a stream on every server: a meta leader is
 * elected and all peers have joined, which takes seconds after the servers listen.
 */
async function waitJetStreamReady(url: string, size: number, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  try {
    // No API check up front: until a meta leader exists it would fail, and that is what the loop waits out.
    const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
    const probe = { name: "cluster_ready_probe", subjects: ["cluster.ready.probe"], storage: StorageType.Memory, num_replicas: size };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await jsm.streams.add(probe);
        await jsm.streams.delete(probe.name);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`JetStream cluster not ready after ${timeoutMs} ms: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}

export async function startNatsCluster(size = 3, timeoutMs = 30_000): Promise<NatsCluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), "onering-nats-cluster-"));
  const ports: { name: string; client: number; route: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ name: `n${i}`, client: await freePort(), route: await freePort() });
  const nodes: NatsNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map(killNode));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const p of ports) {
      const args = [
        ...["-js", "-a", "127.0.0.1", "-p", String(p.client), "-sd", path.join(root, p.name), "--server_name", p.name],
        ...["--cluster_name", "onering_test", "--cluster", `nats://127.0.0.1:${p.route}`],
        ...["--routes", ports.filter((o) => o !== p).map((o) => `nats://127.0.0.1:${o.route}`).join(",")],
      ];
      const spec = { name: p.name, url: `nats://127.0.0.1:${p.client}`, args };
      nodes.push({ ...spec, child: await launch(spec, timeoutMs) });
    }
    const url = nodes.map((n) => n.url).join(",");
    await waitJetStreamReady(url, size, timeoutMs);
    const node = (name: string) => {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no NATS server ${name}`);
      return found;
    };
    return {
      url,
      servers: nodes.map(({ name, url }) => ({ name, url })),
      kill: (name) => killNode(node(name)),
      restart: async (name) => {
        const n = node(name);
        n.child = await launch(n, timeoutMs);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

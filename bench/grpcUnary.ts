// Unary gRPC inside the mesh: the server's CPU per call behind serve() (the
// fast path of services/shared/grpcUnary.ts) against Connect's node adapter
// alone, both called by Connect's own client; and the caller's CPU per call
// with the mesh's internal client (grpcUnaryTransport.ts) against Connect's
// gRPC transport, both calling the fast server. Open loop at a fixed rate,
// taking turns, CPU from /proc (server) and process.cpuUsage (caller).
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { KeyService } from "../gen/onering/v1/key_pb.js";
import { createInternalClient } from "../services/shared/internalClient.js";
import { startChildServer } from "./childServer.js";
import { cpuMs } from "./cpuTime.js";
import { callAtFixedRate } from "./fixedRate.js";
import type { Section } from "./section.js";
import { formatSpread, percentile, spread, table } from "./stats.js";

const rate = 500;
const secret = "sk_live_benchbenchbenchbenchbench";

type Keys = Client<typeof KeyService>;

interface Run {
  serverMs: number;
  callerMs: number;
  p50: number;
  p99: number;
}

async function measure(client: Keys, serverPid: number, seconds: number): Promise<Run> {
  const server = await cpuMs(serverPid);
  const caller = process.cpuUsage();
  const latencies = await callAtFixedRate(() => client.verifyKey({ secret }), rate, seconds);
  const callerUs = process.cpuUsage(caller);
  return {
    serverMs: ((await cpuMs(serverPid)) - server) / latencies.length,
    callerMs: (callerUs.user + callerUs.system) / 1000 / latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export const grpcUnarySection: Section = {
  name: "grpc",
  title: "Internal unary gRPC: the mesh's fast path vs Connect's handler and client",
  async run(settings) {
    const servers = await startChildServer("bench/grpcServers.ts");
    try {
      const url = (name: string) => `http://127.0.0.1:${servers.ports[name]}`;
      const connectClient = (name: string) => createClient(KeyService, createGrpcTransport({ baseUrl: url(name) }));
      const cases: [string, Keys][] = [
        ["Connect client → Connect's handler", connectClient("connect")],
        ["Connect client → serve() fast path", connectClient("mesh")],
        ["mesh internal client → serve() fast path", createInternalClient(KeyService, { baseUrl: url("mesh"), internalToken: "bench" })],
      ];
      for (const [, client] of cases) await measure(client, servers.pid, 1);
      const runs = cases.map(() => [] as Run[]);
      for (let round = 0; round < settings.runs; round++) {
        for (const [i, [, client]] of cases.entries()) runs[i]!.push(await measure(client, servers.pid, settings.seconds));
      }
      const median = (i: number, pick: (r: Run) => number) => spread(runs[i]!.map(pick)).median;
      const serverRatio = spread(runs[1]!.map((r, i) => r.serverMs / runs[0]![i]!.serverMs));
      const callerRatio = spread(runs[2]!.map((r, i) => r.callerMs / runs[1]![i]!.callerMs));
      return [
        `KeyService.VerifyKey (a small request and reply) at ${rate} calls/s, ${settings.seconds} s per run, ${settings.runs} rounds taking turns after a warm-up; both servers in one child process (under tsx, as the other baseline servers), each with the mesh's metrics interceptor; the callers in the bench process.`,
        "",
        table(
          ["caller → server", "server ms of CPU per call", "caller ms of CPU per call", "p50 ms", "p99 ms"],
          cases.map(([name], i) => [
            name,
            formatSpread(spread(runs[i]!.map((r) => r.serverMs)), 3),
            formatSpread(spread(runs[i]!.map((r) => r.callerMs)), 3),
            median(i, (r) => r.p50).toFixed(2),
            median(i, (r) => r.p99).toFixed(2),
          ]),
        ),
        "",
        `- server CPU per call, fast path / Connect's handler: **${formatSpread(serverRatio, 2)}**`,
        `- caller CPU per call, internal client / Connect's client: **${formatSpread(callerRatio, 2)}**`,
      ].join("\n");
    } finally {
      await servers.stop();
    }
  },
};

// The gateway on its hot path: an authenticated, rate-limited GET
// /v1/external/me (enterprise key, limit raised by env) against bare node:http
// returning the same JSON, side by side; Connect JSON on the same operation;
// and the p99 at half of peak load, offered open-loop at a fixed rate, with the
// bare server at the same rate for the generator's own floor.
import { startBenchMesh, benchKey, getMeLoads, unreachableLimit } from "./benchMesh.js";
import { startChildServer } from "./childServer.js";
import { medianRps, ratio, rounds, roundsTable } from "./compare.js";
import { onlyStatuses, runOpenLoop, type LoadResult } from "./load.js";
import type { Section } from "./section.js";
import { formatSpread, spread, table, verdict } from "./stats.js";

const gatewayRest = "gateway REST";
const gatewayConnect = "gateway Connect JSON";
const bare = "bare node:http";

export const gatewaySection: Section = {
  name: "gateway",
  title: "Gateway: authenticated, rate-limited GET /v1/external/me vs bare node:http",
  async run(settings) {
    const mesh = await startBenchMesh({ ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit });
    const bareServer = await startChildServer("bench/bareServer.ts");
    try {
      const { headers } = await benchKey(mesh, "enterprise");
      const loads = getMeLoads(mesh.gatewayUrl, headers);
      const results = await rounds(
        [
          { name: gatewayRest, load: loads.rest },
          { name: gatewayConnect, load: loads.connect },
          { name: bare, load: { url: `http://127.0.0.1:${bareServer.ports.bare}/v1/external/me`, headers } },
        ],
        settings,
      );
      const vsBare = ratio(results, gatewayRest, bare);
      const vsConnect = ratio(results, gatewayRest, gatewayConnect);

      // Half of the measured peak, offered open-loop at a fixed rate, taking turns with the bare server.
      const rate = Math.round(medianRps(results.get(gatewayRest)!) / 2);
      const targets = [
        { name: gatewayRest, load: loads.rest },
        { name: bare, load: { url: `http://127.0.0.1:${bareServer.ports.bare}/v1/external/me`, headers } },
      ];
      const fixed = targets.map(() => [] as LoadResult[]);
      for (let i = 0; i < settings.runs; i++) {
        for (const [t, { name, load }] of targets.entries()) {
          fixed[t]!.push(onlyStatuses(`${name} at half peak`, await runOpenLoop({ ...load, connections: settings.connections, seconds: settings.seconds, rate })));
        }
      }
      const p99 = spread(fixed[0]!.map((r) => r.p99));
      const bareP99 = spread(fixed[1]!.map((r) => r.p99));
      const tail = p99.median / bareP99.median;

      return [
        `Processes: KeyService, MetricsService (usage records on), gateway; the bare server in its own process. ${settings.connections} connections, ${settings.seconds} s per run, ${settings.runs} rounds taking turns, after a warm-up.`,
        "",
        roundsTable(results),
        "",
        `- gateway REST / bare: **${vsBare.text}** (goal ≥ 0.5: ${verdict(vsBare.median >= 0.5)})`,
        `- gateway REST / gateway Connect JSON: **${vsConnect.text}** (goal ≥ 1.0: ${verdict(vsConnect.median >= 1)})`,
        "",
        `At half of the REST peak, ${rate} req/s offered open-loop (bench/openLoop.ts: each request sent when due whatever the answers, latency from sending, waits for a free connection included, ${settings.connections} connections, after a 1 s warm-up):`,
        "",
        table(
          ["target", "achieved req/s", "p50 ms", "p99 ms"],
          targets.map(({ name }, t) => [
            name,
            formatSpread(spread(fixed[t]!.map((r) => r.rps))),
            formatSpread(spread(fixed[t]!.map((r) => r.p50)), 2),
            formatSpread(spread(fixed[t]!.map((r) => r.p99)), 2),
          ]),
        ),
        "",
        `- p99 at half peak: **${p99.median.toFixed(2)} ms**, bare's at the same rate ${bareP99.median.toFixed(2)} ms: **${tail.toFixed(2)}×** (goal ≤ 2×: ${verdict(tail <= 2)})`,
      ].join("\n");
    } finally {
      await bareServer.stop();
      await mesh.stop();
    }
  },
};

// The gateway on its hot path: an authenticated, rate-limited GET
// /v1/external/me (enterprise key, limit raised by env) against bare node:http
// returning the same JSON, side by side; Connect JSON on the same operation;
// and the p99 at half of peak load, offered at a fixed rate.
import { startBenchMesh, benchKey, getMeLoads, unreachableLimit } from "./benchMesh.js";
import { startChildServer } from "./childServer.js";
import { medianRps, ratio, rounds, roundsTable } from "./compare.js";
import { onlyStatuses, runLoad } from "./load.js";
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

      // Half of the measured peak, offered at a fixed rate; autocannon corrects the latencies for coordinated omission.
      const rate = Math.round(medianRps(results.get(gatewayRest)!) / 2);
      const fixed = [];
      for (let i = 0; i < settings.runs; i++) fixed.push(onlyStatuses("gateway at half peak", await runLoad({ ...loads.rest, connections: settings.connections, seconds: settings.seconds, rate })));
      const p99 = spread(fixed.map((r) => r.p99));

      return [
        `Processes: KeyService, MetricsService (usage records on), gateway; the bare server in its own process. ${settings.connections} connections, ${settings.seconds} s per run, ${settings.runs} rounds taking turns, after a warm-up.`,
        "",
        roundsTable(results),
        "",
        `- gateway REST / bare: **${vsBare.text}** (goal ≥ 0.5: ${verdict(vsBare.median >= 0.5)})`,
        `- gateway REST / gateway Connect JSON: **${vsConnect.text}** (goal ≥ 1.0: ${verdict(vsConnect.median >= 1)})`,
        "",
        `At half of the REST peak (${rate} req/s, fixed rate):`,
        "",
        table(
          ["offered req/s", "achieved req/s", "p50 ms", "p99 ms"],
          [[String(rate), formatSpread(spread(fixed.map((r) => r.rps))), formatSpread(spread(fixed.map((r) => r.p50)), 2), formatSpread(p99, 2)]],
        ),
        "",
        `- p99 at half peak: **${p99.median.toFixed(2)} ms** (goal < 5 ms: ${verdict(p99.median < 5)})`,
      ].join("\n");
    } finally {
      await bareServer.stop();
      await mesh.stop();
    }
  },
};

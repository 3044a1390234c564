// Rate-limit decisions with two gateway replicas leasing from one KeyService:
// both loaded at once with the same key. First with a limit out of reach
// (decision throughput), then with a pro limit low enough that the load
// exhausts it within the run: together they must admit at most, and exactly,
// the limit.
import { startGatewayReplica } from "../test/keys/gatewayClient.js";
import { benchKey, getMeLoads, startBenchMesh, unreachableLimit } from "./benchMesh.js";
import { runLoad, type LoadResult } from "./load.js";
import type { Section } from "./section.js";
import { formatSpread, spread, table, verdict } from "./stats.js";

const exhaustedLimit = 1000;

const count = (results: LoadResult[], status: string) => results.reduce((sum, r) => sum + (r.statuses[status] ?? 0), 0);

export const rateLimitSection: Section = {
  name: "ratelimit",
  title: "Rate-limit decisions with 2 gateway replicas, one key",
  async run(settings) {
    const mesh = await startBenchMesh({ ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit, ONERING_RATE_LIMIT_PRO: String(exhaustedLimit) });
    const replica = await startGatewayReplica(mesh);
    try {
      const gateways = [mesh.gatewayUrl, replica.url];
      const connections = Math.max(1, Math.floor(settings.connections / 2));
      const both = async (tier: "pro" | "enterprise") => {
        const { headers } = await benchKey(mesh, tier);
        const results = await Promise.all(gateways.map((url) => runLoad({ ...getMeLoads(url, headers).rest, connections, seconds: settings.seconds })));
        const other = results.reduce((sum, r) => sum + r.errors + r.total, 0) - count(results, "200") - count(results, "429");
        if (other > 0) throw new Error(`rate-limit run: responses other than 200/429: ${JSON.stringify(results.map((r) => r.statuses))}`);
        return { admitted: count(results, "200"), limited: count(results, "429") };
      };
      await both("enterprise");
      const throughput = [];
      const exhausted = [];
      for (let i = 0; i < settings.runs; i++) {
        throughput.push(await both("enterprise"));
        exhausted.push(await both("pro"));
      }
      const admittedPerSecond = spread(throughput.map((r) => r.admitted / settings.seconds));
      const neverOver = exhausted.every((r) => r.admitted <= exhaustedLimit);
      // Exactness is only shown by a run that reached the limit (it saw 429s).
      const reached = exhausted.filter((r) => r.limited > 0);
      const exact = reached.length === exhausted.length && reached.every((r) => r.admitted === exhaustedLimit);
      return [
        `Two gateways, ${connections} connections each, ${settings.seconds} s per run after a warm-up run, a fresh key per run.`,
        "",
        table(
          ["limit", "admitted/s (both together)", "admitted per run", "429 per run"],
          [
            ["out of reach", formatSpread(admittedPerSecond), formatSpread(spread(throughput.map((r) => r.admitted))), formatSpread(spread(throughput.map((r) => r.limited)))],
            [String(exhaustedLimit), "—", exhausted.map((r) => r.admitted).join(", "), exhausted.map((r) => r.limited).join(", ")],
          ],
        ),
        "",
        `- admitted never exceeded the limit of ${exhaustedLimit}: ${verdict(neverOver)}; admitted exactly the limit in every run: ${verdict(exact)}${reached.length < exhausted.length ? ` (${exhausted.length - reached.length} run(s) did not reach the limit)` : ""}`,
      ].join("\n");
    } finally {
      await replica.stop();
      await mesh.stop();
    }
  },
};

// What publishing usage records of external requests (added up per flush, batched to NATS for
// MetricsService) costs the gateway: two gateways of one mesh, records on and
// off (ONERING_USAGE_RECORDS_ENABLED=0), taking turns under the same load.
import { benchKey, getMeLoads, startBenchMesh, unreachableLimit } from "./benchMesh.js";
import { ratio, rounds, roundsTable } from "./compare.js";
import type { Section } from "./section.js";
import { verdict } from "./stats.js";

const on = "usage records on";
const off = "usage records off";

export const usageRecordsSection: Section = {
  name: "usage",
  title: "Cost of usage-record publishing on gateway throughput",
  async run(settings) {
    const mesh = await startBenchMesh({ ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit });
    const withoutRecords = await mesh.startReplica("gateway", { ONERING_USAGE_RECORDS_ENABLED: "0" });
    try {
      const { headers } = await benchKey(mesh, "enterprise");
      const results = await rounds(
        [
          { name: on, load: getMeLoads(mesh.gatewayUrl, headers).rest },
          { name: off, load: getMeLoads(withoutRecords.url, headers).rest },
        ],
        settings,
      );
      const kept = ratio(results, on, off);
      const cost = (1 - kept.median) * 100;
      return [
        "REST GET /v1/external/me, enterprise key; both gateways share KeyService and MetricsService.",
        "",
        roundsTable(results),
        "",
        `- throughput with records / without: **${kept.text}**, a cost of **${cost.toFixed(1)} %** (goal < 5 %: ${verdict(cost < 5)})`,
      ].join("\n");
    } finally {
      await withoutRecords.stop();
      await mesh.stop();
    }
  },
};

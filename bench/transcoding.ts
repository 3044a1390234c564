// REST-transcoded vs Connect JSON vs bare node:http on the same operation
// (GatewayService.GetWebhook, no edge, no internal call): what the transcoder
// itself costs next to Connect's handler and to no framework at all.
import { startChildServer } from "./childServer.js";
import { ratio, rounds, roundsTable } from "./compare.js";
import type { Section } from "./section.js";
import { verdict } from "./stats.js";

export const transcodingSection: Section = {
  name: "transcoding",
  title: "REST transcoding vs Connect JSON vs bare node:http (GetWebhook, no edge)",
  async run(settings) {
    const servers = await startChildServer("bench/transcodingServers.ts");
    try {
      const base = (name: string) => `http://127.0.0.1:${servers.ports[name]}`;
      const results = await rounds(
        [
          { name: "REST (transcoded)", load: { url: `${base("rest")}/v1/external/webhooks/wh_1` } },
          { name: "Connect JSON", load: { url: `${base("connect")}/onering.v1.GatewayService/GetWebhook`, method: "POST", body: '{"id":"wh_1"}', headers: { "content-type": "application/json" } } },
          { name: "bare node:http", load: { url: `${base("bare")}/v1/external/webhooks/wh_1` } },
        ],
        settings,
      );
      const vsConnect = ratio(results, "REST (transcoded)", "Connect JSON");
      const vsBare = ratio(results, "REST (transcoded)", "bare node:http");
      return [
        "All three servers in one child process, the same implementation; loaded one at a time.",
        "",
        roundsTable(results),
        "",
        `- REST / Connect JSON: **${vsConnect.text}** (goal ≥ 1.0: ${verdict(vsConnect.median >= 1)})`,
        `- REST / bare: **${vsBare.text}** (goal ≥ 0.5: ${verdict(vsBare.median >= 0.5)})`,
      ].join("\n");
    } finally {
      await servers.stop();
    }
  },
};

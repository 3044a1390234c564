// Memory is bounded by configuration, not by backlog: 100,000 deliveries queue
// while delivery is switched off, then drain when it is switched on. The RSS of
// the WebhookService and the worker is sampled throughout; goal (issue 17):
// while the backlog drains neither grows past its idle RSS + 100 MiB. The peak
// while the events are published (1,000+ calls/s) is shown beside it.
import { WebhookService } from "../gen/onering/v1/webhook_pb.js";
import { createInternalClient } from "../services/shared/internalClient.js";
import { asOwner, meshFlags } from "../test/webhooks/webhookClient.js";
import { startBenchMesh } from "./benchMesh.js";
import { startChildServer } from "./childServer.js";
import { rssMiB } from "./rss.js";
import type { Section } from "./section.js";
import { table, verdict } from "./stats.js";

const backlog = Number(process.env.BENCH_BACKLOG ?? 100_000);
const publishers = 50;
const growthGoalMiB = 100;
const drainDeadlineMs = 600_000;

export const backlogDrainSection: Section = {
  name: "backlog",
  title: `Backlog drain: ${backlog.toLocaleString("en")} deliveries queued with delivery off, then sent`,
  async run() {
    const mesh = await startBenchMesh({ ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1", ONERING_WEBHOOKS_DELIVERY_ENABLED: "0" }, ["webhook", "webhook-worker"]);
    const receiver = await startChildServer("bench/webhookReceiver.ts");
    const receiverUrl = `http://127.0.0.1:${receiver.ports.receiver}`;
    const { flags, close } = await meshFlags(mesh);
    const names = ["webhook", "webhook-worker"] as const;
    const rss = async () => Object.fromEntries(await Promise.all(names.map(async (n) => [n, await rssMiB(mesh.processes.get(n)!.child.pid!)] as const)));
    try {
      const client = createInternalClient(WebhookService, { baseUrl: mesh.url("webhook"), internalToken: mesh.internalToken, timeoutMs: 30_000 });
      await client.createWebhook({ url: `${receiverUrl}/backlog`, eventTypes: ["bench.backlog"] }, asOwner("bench"));
      await new Promise((r) => setTimeout(r, 2000));
      const idle = await rss();
      const publishPeak = { ...idle };
      const drainPeak = { ...idle };
      let peak = publishPeak;
      const sampler = setInterval(() => {
        void rss().then((now) => {
          for (const n of names) peak[n] = Math.max(peak[n]!, now[n]!);
        });
      }, 250);

      const publishStarted = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: publishers }, async () => {
          while (next < backlog) {
            next++;
            await client.publishEvent({ type: "bench.backlog", data: {} });
          }
        }),
      );
      const publishSeconds = (Date.now() - publishStarted) / 1000;

      peak = drainPeak;
      const drainStarted = Date.now();
      await flags.set("webhooks_delivery_enabled", true, "bench");
      for (;;) {
        const { count } = (await (await fetch(`${receiverUrl}/stats`)).json()) as { count: number };
        if (count >= backlog) break;
        if (Date.now() - drainStarted > drainDeadlineMs) throw new Error(`only ${count} of ${backlog} delivered`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const drainSeconds = (Date.now() - drainStarted) / 1000;
      clearInterval(sampler);
      const worst = Math.max(...names.map((n) => drainPeak[n]! - idle[n]!));
      return [
        `Processes: WebhookService and one delivery worker, default settings, one webhook; the receiver answers 204 at once. ${backlog.toLocaleString("en")} events published by ${publishers} callers in ${publishSeconds.toFixed(0)} s with \`webhooks_delivery_enabled\` off, then switched on: drained in ${drainSeconds.toFixed(0)} s (${(backlog / drainSeconds).toFixed(0)} deliveries/s). RSS sampled every 250 ms from before the first publish to the last arrival.`,
        "",
        table(
          ["process", "idle RSS (MiB)", "peak while publishing", "peak while draining", "growth while draining (MiB)"],
          names.map((n) => [n, idle[n]!.toFixed(0), publishPeak[n]!.toFixed(0), drainPeak[n]!.toFixed(0), (drainPeak[n]! - idle[n]!).toFixed(0)]),
        ),
        "",
        `- largest growth while the backlog drains: **${worst.toFixed(0)} MiB** (goal ≤ ${growthGoalMiB} MiB: ${verdict(worst <= growthGoalMiB)})`,
      ].join("\n");
    } finally {
      await close();
      await receiver.stop();
      await mesh.stop();
    }
  },
};

// One customer's dead receiver must not slow another's. A healthy endpoint's
// event-to-delivery latency at a steady rate, alone, then with 2,500
// deliveries queued for a receiver that accepts connections and never answers
// (published just before, so the healthy events queue behind them), same run.
// Goal (issue 17): the p90 with the noisy neighbour within 2× of alone, < 1 s.
import { WebhookService } from "../gen/onering/v1/webhook_pb.js";
import { createInternalClient } from "../services/shared/internalClient.js";
import { asOwner } from "../test/webhooks/webhookClient.js";
import { startBenchMesh } from "./benchMesh.js";
import { startChildServer } from "./childServer.js";
import { callAtFixedRate } from "./fixedRate.js";
import type { Section } from "./section.js";
import { formatSpread, percentile, spread, table, verdict } from "./stats.js";

const hangingDeliveries = 2500;
const healthyRate = 50;
const drainDeadlineMs = 60_000;

interface Arrivals {
  count: number;
  latencies: number[];
}

export const noisyNeighbourSection: Section = {
  name: "noisy",
  title: "Noisy neighbour: a healthy endpoint beside 2,500 deliveries hanging at another",
  async run(settings) {
    const mesh = await startBenchMesh({ ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1" }, ["webhook", "webhook-worker"]);
    const receiver = await startChildServer("bench/webhookReceiver.ts");
    const hanging = await startChildServer("bench/hangingReceiver.ts");
    const receiverUrl = `http://127.0.0.1:${receiver.ports.receiver}`;
    try {
      const client = createInternalClient(WebhookService, { baseUrl: mesh.url("webhook"), internalToken: mesh.internalToken, timeoutMs: 30_000 });
      await client.createWebhook({ url: `${receiverUrl}/healthy`, eventTypes: ["bench.healthy"] }, asOwner("bench-healthy"));
      await client.createWebhook({ url: `http://127.0.0.1:${hanging.ports.receiver}/hang`, eventTypes: ["bench.hang"] }, asOwner("bench-noisy"));
      const publishHealthy = (sentAt: number) => client.publishEvent({ type: "bench.healthy", data: { sentAt } });

      /** The healthy endpoint's p90 over one fixed-rate run, ms. */
      const healthyP90 = async (): Promise<number> => {
        await fetch(`${receiverUrl}/stats`, { method: "DELETE" });
        const { length: count } = await callAtFixedRate(publishHealthy, healthyRate, settings.seconds);
        const deadline = Date.now() + drainDeadlineMs;
        for (;;) {
          const arrivals = (await (await fetch(`${receiverUrl}/stats`)).json()) as Arrivals;
          if (arrivals.count >= count) return percentile(arrivals.latencies, 90);
          if (Date.now() > deadline) throw new Error(`only ${arrivals.count} of ${count} healthy deliveries arrived`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };

      const alone: number[] = [];
      for (let round = 0; round < settings.runs; round++) alone.push(await healthyP90());
      const noisy: number[] = [];
      for (let round = 0; round < settings.runs; round++) {
        // A fresh backlog each round, published just before the healthy events.
        for (let i = 0; i < hangingDeliveries; i += 100) {
          await Promise.all(Array.from({ length: 100 }, () => client.publishEvent({ type: "bench.hang", data: {} })));
        }
        noisy.push(await healthyP90());
      }
      const aloneSpread = spread(alone);
      const noisySpread = spread(noisy);
      const met = noisySpread.median < 1000 && noisySpread.median <= 2 * aloneSpread.median;
      return [
        `Processes: WebhookService and one delivery worker, default settings (endpoint concurrency 10, attempt timeout 10 s, circuit breaker after 5 failures). The healthy receiver answers 204 at once; the hanging one accepts connections and never answers. Healthy events at ${healthyRate}/s for ${settings.seconds} s per run, latency from the publish call to arrival; ${settings.runs} runs each, the noisy ones each after publishing ${hangingDeliveries.toLocaleString("en")} more events to the hanging receiver.`,
        "",
        table(
          ["healthy endpoint", "p90 ms"],
          [
            ["alone", formatSpread(aloneSpread, 1)],
            [`with ${hangingDeliveries.toLocaleString("en")} hanging at another endpoint`, formatSpread(noisySpread, 1)],
          ],
        ),
        "",
        `- with the noisy neighbour / alone: **${(noisySpread.median / aloneSpread.median).toFixed(2)}×**, p90 ${noisySpread.median.toFixed(1)} ms (goal within 2× and < 1 s: ${verdict(met)})`,
      ].join("\n");
    } finally {
      await hanging.stop();
      await receiver.stop();
      await mesh.stop();
    }
  },
};

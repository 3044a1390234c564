// Webhook deliveries end to end — PublishEvent → outbox → JetStream → worker →
// receiver → recorded — against the raw pipeline (JetStream publish, pull
// consume, undici POST, ack) to the same receiver, taking turns in one run;
// then event-to-delivery latency at a fixed 200 events/s, measured at the
// receiver from the publisher's `data.sentAt`.
import { Health } from "../gen/health/v1/health_pb.js";
import { WebhookService } from "../gen/onering/v1/webhook_pb.js";
import { createInternalClient } from "../services/shared/internalClient.js";
import { asOwner } from "../test/webhooks/webhookClient.js";
import { startBenchMesh } from "./benchMesh.js";
import { startChildServer } from "./childServer.js";
import { cpuMs, machineCpuMs, processesCpuMs } from "./cpuTime.js";
import { callAtFixedRate } from "./fixedRate.js";
import { startRawPipeline } from "./rawDeliveryPipeline.js";
import type { Section } from "./section.js";
import { formatSpread, percentile, spread, table, verdict } from "./stats.js";

// Concurrent publishers in the throughput runs, for both pipelines.
const publishers = 50;
const fixedRate = 200;
const drainDeadlineMs = 60_000;
const warmupSeconds = 1;
const eventType = "bench.delivery";

const now = () => performance.timeOrigin + performance.now();

interface Arrivals {
  count: number;
  lastArrival: number;
  latencies: number[];
}

type Publish = (sentAt: number) => Promise<unknown>;

function receiverStats(statsUrl: string) {
  return {
    reset: async () => void (await fetch(statsUrl, { method: "DELETE" })),
    read: async () => (await (await fetch(statsUrl)).json()) as Arrivals,
  };
}

/** Waits until `expected` distinct deliveries arrived; fails after the drain deadline, so a lost delivery cannot pass. */
async function drained(stats: ReturnType<typeof receiverStats>, expected: number): Promise<Arrivals> {
  const deadline = Date.now() + drainDeadlineMs;
  for (;;) {
    const arrivals = await stats.read();
    if (arrivals.count >= expected) return arrivals;
    if (Date.now() > deadline) throw new Error(`only ${arrivals.count} of ${expected} deliveries arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a throughput run reads CPU time from, ms so far: the machine, and each process the pipeline runs in. */
type CpuMeters = Record<string, () => Promise<number>>;

async function readMeters(meters: CpuMeters): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(Object.entries(meters).map(async ([name, read]) => [name, await read()] as const)));
}

interface ThroughputRun {
  rate: number;
  /** CPU ms per delivery by meter. */
  cpuPerDelivery: Record<string, number>;
}

/** Closed loop: `publishers` callers publish for `seconds`; deliveries/s from the first publish to the last arrival. */
async function throughput(publish: Publish, stats: ReturnType<typeof receiverStats>, seconds: number, meters: CpuMeters): Promise<ThroughputRun> {
  await stats.reset();
  const cpuBefore = await readMeters(meters);
  const started = now();
  const until = started + seconds * 1000;
  let published = 0;
  await Promise.all(
    Array.from({ length: publishers }, async () => {
      while (now() < until) {
        await publish(now());
        published++;
      }
    }),
  );
  const arrivals = await drained(stats, published);
  const cpuAfter = await readMeters(meters);
  const cpuPerDelivery = Object.fromEntries(Object.keys(meters).map((name) => [name, (cpuAfter[name]! - cpuBefore[name]!) / published]));
  return { rate: (published / (arrivals.lastArrival - started)) * 1000, cpuPerDelivery };
}

/** Open loop at `fixedRate` events/s for `seconds`: latency percentiles of the arrivals, ms. */
async function latency(publish: Publish, stats: ReturnType<typeof receiverStats>, seconds: number): Promise<{ p50: number; p90: number; p99: number }> {
  await stats.reset();
  const { length: count } = await callAtFixedRate(publish, fixedRate, seconds);
  const { latencies } = await drained(stats, count);
  return { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) };
}

/** CPU time `pid` spends per call of `send` at the fixed rate, until `settled` says the calls' work is done; ms. */
async function cpuPerCall(pid: number, send: (sentAt: number) => Promise<unknown>, seconds: number, settled?: (count: number) => Promise<unknown>): Promise<number> {
  const before = await cpuMs(pid);
  const { length: count } = await callAtFixedRate(send, fixedRate, seconds);
  await settled?.(count);
  return ((await cpuMs(pid)) - before) / count;
}

export const webhooksSection: Section = {
  name: "webhooks",
  title: "Webhooks: end-to-end deliveries vs a raw JetStream + undici pipeline",
  async run(settings) {
    const mesh = await startBenchMesh({ ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "1" }, ["webhook", "webhook-worker"]);
    const receiver = await startChildServer("bench/webhookReceiver.ts");
    const receiverUrl = `http://127.0.0.1:${receiver.ports.receiver}`;
    const stats = receiverStats(`${receiverUrl}/stats`);
    const raw = await startRawPipeline(mesh.natsUrl, mesh.natsPrefix, `${receiverUrl}/raw`, Number(mesh.env.ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY ?? 10));
    try {
      const client = createInternalClient(WebhookService, { baseUrl: mesh.url("webhook"), internalToken: mesh.internalToken, timeoutMs: 30_000 });
      await client.createWebhook({ url: `${receiverUrl}/mesh`, eventTypes: [eventType] }, asOwner("bench"));
      const pipelines: [string, Publish][] = [
        ["OneRing (PublishEvent → worker → receiver)", (sentAt) => client.publishEvent({ type: eventType, data: { sentAt } })],
        ["raw JetStream + undici", (sentAt) => raw.publish(JSON.stringify({ type: eventType, timestamp: new Date().toISOString(), data: { sentAt } }))],
      ];
      // Where each pipeline's deliveries cost CPU: the whole machine, then each process it runs in.
      const shared: CpuMeters = {
        "whole machine (all cores: everything below and the rest)": machineCpuMs,
        "nats-server": () => processesCpuMs("nats-server"),
        receiver: () => cpuMs(receiver.pid),
        "bench process (publishers; the raw pipeline itself)": () => cpuMs(process.pid),
      };
      const meters: CpuMeters[] = [
        {
          ...shared,
          WebhookService: () => cpuMs(mesh.processes.get("webhook")!.child.pid!),
          "delivery worker": () => cpuMs(mesh.processes.get("webhook-worker")!.child.pid!),
          "Postgres (all backends)": () => processesCpuMs("postgres"),
        },
        shared,
      ];

      for (const [i, [, publish]] of pipelines.entries()) await throughput(publish, stats, warmupSeconds, meters[i]!);
      const runs = pipelines.map(() => [] as ThroughputRun[]);
      for (let round = 0; round < settings.runs; round++) {
        for (const [i, [, publish]] of pipelines.entries()) runs[i]!.push(await throughput(publish, stats, settings.seconds, meters[i]!));
      }
      const rates = runs.map((r) => r.map((run) => run.rate));
      const ratios = spread(rates[0]!.map((r, i) => r / rates[1]![i]!));
      const cpuSpread = (pipeline: number, meter: string) =>
        meter in meters[pipeline]! ? formatSpread(spread(runs[pipeline]!.map((run) => run.cpuPerDelivery[meter]!)), 3) : "—";

      const latencies = pipelines.map(() => [] as { p50: number; p90: number; p99: number }[]);
      for (let round = 0; round < settings.runs; round++) {
        for (const [i, [, publish]] of pipelines.entries()) latencies[i].push(await latency(publish, stats, settings.seconds));
      }
      const p90 = spread(latencies[0].map((l) => l.p90));

      // What the WebhookService spends per event at the fixed rate, beside what
      // one bare gRPC unary (the health check, no storage) costs it at that rate.
      const webhookPid = mesh.processes.get("webhook")!.child.pid!;
      const health = createInternalClient(Health, { baseUrl: mesh.url("webhook"), internalToken: mesh.internalToken });
      const perEvent: number[] = [];
      const perHealthCheck: number[] = [];
      for (let round = 0; round < settings.runs; round++) {
        await stats.reset();
        perEvent.push(await cpuPerCall(webhookPid, pipelines[0][1], settings.seconds, (count) => drained(stats, count)));
        perHealthCheck.push(await cpuPerCall(webhookPid, () => health.check({}), settings.seconds));
      }

      return [
        `Processes: WebhookService (Postgres, outbox relay) and the delivery worker, default settings; the receiver (node:http, 204) in its own process; the raw pipeline in the bench process. One webhook; ${publishers} concurrent publishers for ${settings.seconds} s per run, deliveries/s from the first publish to the last arrival (every delivery must arrive), ${settings.runs} rounds taking turns, after a warm-up.`,
        "",
        table(
          ["pipeline", "deliveries/s"],
          pipelines.map(([name], i) => [name, formatSpread(spread(rates[i]))]),
        ),
        "",
        `- OneRing / raw: **${formatSpread(ratios, 2)}** (goal ≥ 0.5: ${verdict(ratios.median >= 0.5)})`,
        "",
        "CPU time per delivery in those runs, ms (from /proc; Postgres counts every backend, so also other work on the machine):",
        "",
        table(
          ["where", ...pipelines.map(([name]) => name)],
          Object.keys(meters[0]!).map((meter) => [meter, ...pipelines.map((_, i) => cpuSpread(i, meter))]),
        ),
        "",
        `Event-to-delivery latency at a fixed ${fixedRate} events/s (${settings.seconds} s per run; publish call to arrival at the receiver):`,
        "",
        table(
          ["pipeline", "p50 ms", "p90 ms", "p99 ms"],
          pipelines.map(([name], i) => [
            name,
            formatSpread(spread(latencies[i].map((l) => l.p50)), 1),
            formatSpread(spread(latencies[i].map((l) => l.p90)), 1),
            formatSpread(spread(latencies[i].map((l) => l.p99)), 1),
          ]),
        ),
        "",
        `- OneRing p90 at ${fixedRate} events/s: **${p90.median.toFixed(1)} ms** (goal < 50 ms: ${verdict(p90.median < 50)})`,
        "",
        `CPU time of the WebhookService process at ${fixedRate} calls/s (from /proc, user + system):`,
        "",
        table(
          ["call", "ms of CPU per call"],
          [
            ["PublishEvent (store, relay to JetStream; the worker claims and records on its own)", formatSpread(spread(perEvent), 2)],
            ["grpc.health.v1.Health/Check (no storage, no NATS)", formatSpread(spread(perHealthCheck), 2)],
          ],
        ),
      ].join("\n");
    } finally {
      await raw.close();
      await receiver.stop();
      await mesh.stop();
    }
  },
};

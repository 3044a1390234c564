// What OpenTelemetry tracing costs the gateway: three gateways of one mesh
// taking turns under the same load, tracing off (no OTLP endpoint, the
// default), on with every request sampled, and on with one in ten sampled
// (OTEL_TRACES_SAMPLER=traceidratio). They export to a local OTLP/HTTP sink
// that reads and drops what it gets, as a collector elsewhere would take it.
import http from "node:http";
import type net from "node:net";
import { benchKey, getMeLoads, startBenchMesh, unreachableLimit } from "./benchMesh.js";
import { ratio, rounds, roundsTable } from "./compare.js";
import type { Section } from "./section.js";

const off = "tracing off";
const on = "tracing on, all sampled";
const sampled = "tracing on, 10 % sampled";

/** A collector stand-in: counts export requests and bytes, keeps nothing. */
async function startSink(): Promise<{ url: string; exports: () => { requests: number; bytes: number }; close: () => Promise<void> }> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    exports: () => ({ requests, bytes }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const tracingSection: Section = {
  name: "tracing",
  title: "Cost of OpenTelemetry tracing on gateway throughput",
  async run(settings) {
    const sink = await startSink();
    const mesh = await startBenchMesh({ ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit });
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
    const tracing = await mesh.startReplica("gateway", traced);
    const tracingSampled = await mesh.startReplica("gateway", { ...traced, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" });
    try {
      const { headers } = await benchKey(mesh, "enterprise");
      const results = await rounds(
        [
          { name: off, load: getMeLoads(mesh.gatewayUrl, headers).rest },
          { name: on, load: getMeLoads(tracing.url, headers).rest },
          { name: sampled, load: getMeLoads(tracingSampled.url, headers).rest },
        ],
        settings,
      );
      const kept = ratio(results, on, off);
      const keptSampled = ratio(results, sampled, off);
      const cost = (1 - kept.median) * 100;
      const costSampled = (1 - keptSampled.median) * 100;
      const { requests, bytes } = sink.exports();
      if (requests === 0) throw new Error("the traced gateways exported no spans");
      return [
        "REST GET /v1/external/me, enterprise key, one span per sampled request (no internal call on this path); the gateways share KeyService and MetricsService.",
        "Off, the gateway builds no span objects at all: no endpoint, no tracing hooks (serve(), the RPC interceptors and the internal clients choose theirs once at start-up).",
        "",
        roundsTable(results),
        "",
        `- throughput all sampled / off: **${kept.text}**, a cost of **${cost.toFixed(1)} %**`,
        `- throughput 10 % sampled / off: **${keptSampled.text}**, a cost of **${costSampled.toFixed(1)} %**`,
        `- exported: ${requests} OTLP/HTTP requests, ${(bytes / 1024 / 1024).toFixed(1)} MiB of JSON`,
      ].join("\n");
    } finally {
      await tracingSampled.stop();
      await tracing.stop();
      await mesh.stop();
      await sink.close();
    }
  },
};

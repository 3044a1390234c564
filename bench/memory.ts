// Resident memory of every mesh process: idle, under peak load, and over a soak
// at a fixed rate (BENCH_SOAK_SECONDS), then idle again. The load is GetMe
// through the gateway plus events published through it and delivered to a
// receiver, so the webhook processes work too. The goal is no growth over the
// soak: memory that climbs under a steady load is a leak, whatever its size.
// It is judged on what each process retains, RSS right after a full garbage
// collection before and after the soak; RSS sampled during the soak is shown too.
import type { Mesh } from "../test/harness/mesh.js";
import { meshProcesses, type ProcessName } from "../tools/mesh/processes.js";
import { benchKey, getMeLoads, startBenchMesh, unreachableLimit } from "./benchMesh.js";
import { startChildServer } from "./childServer.js";
import { collectGarbage, inspectorOption, inspectorUrl } from "./fullGc.js";
import { onlyStatuses, runLoad, type LoadResult, type LoadSpec } from "./load.js";
import { rssMiB } from "./rss.js";
import type { Section } from "./section.js";
import { percentile, table, verdict } from "./stats.js";

const soakRate = Number(process.env.BENCH_SOAK_RATE ?? 1000);
// Events per second published alongside, at peak and in the soak.
const eventRate = 100;
const settleMs = 2000;
// RSS moves by a few MiB with heap sizing alone; more than this over a soak is growth.
const growthToleranceMiB = 10;

type Samples = Map<string, number>;

async function sample(mesh: Mesh): Promise<Samples> {
  const entries = await Promise.all([...mesh.processes].map(async ([name, p]) => [name, await rssMiB(p.child.pid!)] as const));
  return new Map(entries);
}

// RSS saws up and down by tens of MiB as V8 resizes its young generation, so two
// single samples can show growth that is not there: each end of the soak is the
// median of its fifth of the samples.
const median = (samples: Samples[], name: string) => percentile(samples.map((s) => s.get(name)!), 50);

/** Runs the loads while sampling RSS; returns the median RSS of the second and of the last fifth of the run, and the peak. */
async function underLoad(mesh: Mesh, loads: [LoadSpec, (result: LoadResult) => LoadResult][]) {
  const samples: Samples[] = [];
  const timer = setInterval(() => void sample(mesh).then((s) => samples.push(s)), 500);
  try {
    await Promise.all(loads.map(async ([load, check]) => check(await runLoad(load))));
  } finally {
    clearInterval(timer);
  }
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const names = [...mesh.processes.keys()];
  const [early, late] = [samples.slice(fifth, 2 * fifth), samples.slice(-fifth)].map((part) => new Map(names.map((name) => [name, median(part, name)])));
  const peak = new Map([...mesh.processes.keys()].map((name) => [name, Math.max(...samples.map((s) => s.get(name)!))]));
  return { first: early!, last: late!, peak };
}

const settle = () => new Promise((r) => setTimeout(r, settleMs));

/** RSS of every process right after a full garbage collection in it. */
async function retained(mesh: Mesh): Promise<Samples> {
  const entries = [];
  for (const [name, p] of mesh.processes) {
    await collectGarbage(inspectorUrl(p.logs));
    entries.push([name, await rssMiB(p.child.pid!)] as const);
  }
  return new Map(entries);
}

export const memorySection: Section = {
  name: "memory",
  title: "Memory: RSS per process, idle, under load and over a soak",
  async run(settings) {
    const mesh = await startBenchMesh(
      { ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit, NODE_OPTIONS: inspectorOption },
      meshProcesses.map((p) => p.name),
    );
    const receiver = await startChildServer("bench/webhookReceiver.ts");
    try {
      const { headers } = await benchKey(mesh, "enterprise");
      const subscribed = await fetch(`${mesh.gatewayUrl}/v1/external/webhooks`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ url: `http://127.0.0.1:${receiver.ports.receiver}/memory`, event_types: ["bench.memory"] }),
      });
      if (!subscribed.ok) throw new Error(`creating the bench webhook failed: ${subscribed.status} ${await subscribed.text()}`);
      const getMe = (spec: Partial<LoadSpec>): [LoadSpec, (r: LoadResult) => LoadResult] => [
        { ...getMeLoads(mesh.gatewayUrl, headers).rest, connections: settings.connections, seconds: settings.seconds, ...spec },
        (r) => onlyStatuses("memory load", r),
      ];
      const publish = (seconds: number): [LoadSpec, (r: LoadResult) => LoadResult] => [
        {
          url: `${mesh.gatewayUrl}/v1/admin/events`,
          method: "POST",
          headers: { authorization: `Bearer ${mesh.adminKey}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "bench.memory", data: { bench: true } }),
          connections: 2,
          seconds,
          rate: eventRate,
        },
        (r) => onlyStatuses("event load", r),
      ];
      await settle();
      const idle = await sample(mesh);
      const peak = await underLoad(mesh, [getMe({}), publish(settings.seconds)]);
      await settle();
      const heldBefore = await retained(mesh);
      const soak = await underLoad(mesh, [getMe({ seconds: settings.soakSeconds, rate: soakRate }), publish(settings.soakSeconds)]);
      await settle();
      const after = await sample(mesh);
      const heldAfter = await retained(mesh);
      const mib = (n: number) => n.toFixed(1);
      const signed = (n: number) => `${n >= 0 ? "+" : ""}${mib(n)}`;
      const names = [...mesh.processes.keys()];
      const sampledGrowth = (name: ProcessName) => soak.last.get(name)! - soak.first.get(name)!;
      const heldGrowth = (name: ProcessName) => heldAfter.get(name)! - heldBefore.get(name)!;
      const rows = names.map((name) => [name, mib(idle.get(name)!), mib(peak.peak.get(name)!), mib(soak.first.get(name)!), mib(soak.last.get(name)!), signed(sampledGrowth(name)), mib(after.get(name)!)]);
      const heldRows = names.map((name) => [name, mib(heldBefore.get(name)!), mib(heldAfter.get(name)!), signed(heldGrowth(name))]);
      const sawed = names.filter((name) => sampledGrowth(name) > growthToleranceMiB);
      const grew = names.filter((name) => heldGrowth(name) > growthToleranceMiB);
      return [
        `RSS in MiB of all five processes. Peak load: GetMe over ${settings.connections} connections for ${settings.seconds} s. Soak: GetMe at ${soakRate} req/s for ${settings.soakSeconds} s (BENCH_SOAK_SECONDS); its start is the median RSS of its second fifth, once heaps have sized themselves, and its end the median of its last fifth. Both also publish ${eventRate} events/s through the gateway to one webhook, delivered to a receiver.`,
        "",
        table(["process", "idle", "peak under load", "soak start", "soak end", "soak growth", "idle after"], rows),
        "",
        `- RSS sampled during the soak, end over start: ${sawed.length ? `more than ${growthToleranceMiB} MiB higher in ${sawed.join(", ")}` : `within ${growthToleranceMiB} MiB in every process`}. Between full collections this follows where each old generation is in its climb, so it is not the goal's measure.`,
        "",
        `Memory retained: RSS right after a full garbage collection (HeapProfiler.collectGarbage over the inspector; the processes run with ${inspectorOption}), idle, after the peak load and again after the soak:`,
        "",
        table(["process", "before the soak", "after the soak", "growth"], heldRows),
        "",
        `- no growth over the soak, in memory retained (≤ ${growthToleranceMiB} MiB per process): ${verdict(grew.length === 0)}${grew.length ? ` (grew: ${grew.join(", ")})` : ""}`,
      ].join("\n");
    } finally {
      await receiver.stop();
      await mesh.stop();
    }
  },
};

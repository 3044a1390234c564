// Resident memory of each mesh process on the external API path: idle, under
// peak load, and over a soak at a fixed rate (BENCH_SOAK_SECONDS), then idle
// again. The goal is no growth over the soak: memory that climbs under a
// steady load is a leak, whatever its size.
import type { Mesh } from "../test/harness/mesh.js";
import { benchKey, getMeLoads, startBenchMesh, unreachableLimit } from "./benchMesh.js";
import { onlyStatuses, runLoad, type LoadSpec } from "./load.js";
import { rssMiB } from "./rss.js";
import type { Section } from "./section.js";
import { table, verdict } from "./stats.js";

const soakRate = Number(process.env.BENCH_SOAK_RATE ?? 1000);
const settleMs = 2000;
// RSS moves by a few MiB with heap sizing alone; more than this over a soak is growth.
const growthToleranceMiB = 10;

type Samples = Map<string, number>;

async function sample(mesh: Mesh): Promise<Samples> {
  const entries = await Promise.all([...mesh.processes].map(async ([name, p]) => [name, await rssMiB(p.child.pid!)] as const));
  return new Map(entries);
}

/** Runs the load while sampling RSS; returns the first and last samples past a fifth of the run, and the peak. */
async function underLoad(mesh: Mesh, load: LoadSpec) {
  const samples: Samples[] = [];
  const timer = setInterval(() => void sample(mesh).then((s) => samples.push(s)), 500);
  try {
    onlyStatuses("memory load", await runLoad(load));
  } finally {
    clearInterval(timer);
  }
  const steady = samples.slice(Math.floor(samples.length / 5));
  const peak = new Map([...mesh.processes.keys()].map((name) => [name, Math.max(...samples.map((s) => s.get(name)!))]));
  return { first: steady[0], last: steady.at(-1)!, peak };
}

const settle = () => new Promise((r) => setTimeout(r, settleMs));

export const memorySection: Section = {
  name: "memory",
  title: "Memory: RSS per process, idle, under load and over a soak",
  async run(settings) {
    const mesh = await startBenchMesh({ ONERING_RATE_LIMIT_ENTERPRISE: unreachableLimit });
    try {
      const { headers } = await benchKey(mesh, "enterprise");
      const load = getMeLoads(mesh.gatewayUrl, headers).rest;
      await settle();
      const idle = await sample(mesh);
      const peak = await underLoad(mesh, { ...load, connections: settings.connections, seconds: settings.seconds });
      const soak = await underLoad(mesh, { ...load, connections: settings.connections, seconds: settings.soakSeconds, rate: soakRate });
      await settle();
      const after = await sample(mesh);
      const mib = (n: number) => n.toFixed(1);
      const rows = [...mesh.processes.keys()].map((name) => {
        const growth = soak.last.get(name)! - soak.first.get(name)!;
        return [name, mib(idle.get(name)!), mib(peak.peak.get(name)!), mib(soak.first.get(name)!), mib(soak.last.get(name)!), `${growth >= 0 ? "+" : ""}${mib(growth)}`, mib(after.get(name)!)];
      });
      const grew = [...mesh.processes.keys()].filter((name) => soak.last.get(name)! - soak.first.get(name)! > growthToleranceMiB);
      return [
        `RSS in MiB. Peak load: ${settings.connections} connections for ${settings.seconds} s. Soak: ${soakRate} req/s for ${settings.soakSeconds} s (BENCH_SOAK_SECONDS); its start is taken a fifth of the way in, once heaps have sized themselves. The webhook processes are not on this path; their section comes with the webhooks work.`,
        "",
        table(["process", "idle", "peak under load", "soak start", "soak end", "soak growth", "idle after"], rows),
        "",
        `- no growth over the soak (≤ ${growthToleranceMiB} MiB per process): ${verdict(grew.length === 0)}${grew.length ? ` (grew: ${grew.join(", ")})` : ""}`,
      ].join("\n");
    } finally {
      await mesh.stop();
    }
  },
};

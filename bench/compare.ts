// Side-by-side measurement: targets take turns, round after round, so drift
// on a shared machine (other work, thermal) spreads over all of them alike.
import { onlyStatuses, runLoad, type LoadResult, type LoadSpec } from "./load.js";
import type { BenchSettings } from "./section.js";
import { formatSpread, spread, table } from "./stats.js";

export interface Target {
  name: string;
  load: Omit<LoadSpec, "seconds" | "connections">;
}

export type Rounds = Map<string, LoadResult[]>;

const warmupSeconds = 2;

export async function rounds(targets: Target[], settings: BenchSettings): Promise<Rounds> {
  const { connections, seconds } = settings;
  for (const target of targets) onlyStatuses(`${target.name} (warm-up)`, await runLoad({ ...target.load, connections, seconds: warmupSeconds }));
  const results: Rounds = new Map(targets.map((t) => [t.name, []]));
  for (let round = 0; round < settings.runs; round++) {
    for (const target of targets) results.get(target.name)!.push(onlyStatuses(target.name, await runLoad({ ...target.load, connections, seconds })));
  }
  return results;
}

export const medianRps = (results: LoadResult[]) => spread(results.map((r) => r.rps)).median;

/** req/s, p50 and p99 per target: median (min–max) over the rounds. */
export function roundsTable(results: Rounds): string {
  const rows = [...results].map(([name, runs]) => [
    name,
    formatSpread(spread(runs.map((r) => r.rps))),
    formatSpread(spread(runs.map((r) => r.p50)), 2),
    formatSpread(spread(runs.map((r) => r.p99)), 2),
  ]);
  return table(["target", "req/s", "p50 ms", "p99 ms"], rows);
}

/** The ratio of two targets' median req/s, with the spread of per-round ratios. */
export function ratio(results: Rounds, numerator: string, denominator: string): { median: number; text: string } {
  const a = results.get(numerator)!;
  const b = results.get(denominator)!;
  const perRound = spread(a.map((r, i) => r.rps / b[i].rps));
  return { median: perRound.median, text: formatSpread(perRound, 2) };
}

// What every benchmark section is: a titled module that measures and returns
// its part of RESULTS.md. bench/run.ts runs them in order; a new section (e.g.
// webhook deliveries) is one more module in its list.
export interface BenchSettings {
  /** Length of one measured run, seconds (BENCH_SECONDS). */
  seconds: number;
  /** Measured runs per figure, at least 3 (BENCH_RUNS); medians are reported. */
  runs: number;
  /** Concurrent connections of closed-loop runs (BENCH_CONNECTIONS). */
  connections: number;
  /** Length of the memory soak, seconds (BENCH_SOAK_SECONDS). */
  soakSeconds: number;
}

export interface Section {
  /** Short name, for BENCH_ONLY. */
  name: string;
  title: string;
  /** Measures and returns the section's Markdown body. */
  run(settings: BenchSettings): Promise<string>;
}

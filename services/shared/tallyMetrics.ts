// Counters and histograms for the request path. A prom-client child still
// validates and hashes its labels on every inc() or observe(), which cost the
// gateway more than the rest of its metrics work; these keep plain numbers per
// label set, bound once by child(), and hand prom-client the totals when it
// scrapes (each registers itself as a metric of the registry).
import type { Metric, Registry } from "prom-client";

interface TallyOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  registry: Registry;
}

type Labels = Record<string, string>;

/** One Map level per label: a lookup walks the values the caller holds and builds no string to hash. */
type Level<Child> = Map<string, Level<Child> | Child>;

abstract class Tally<Child> {
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  private readonly lookup: Level<Child> = new Map();
  protected readonly children: Array<{ labels: Labels; child: Child }> = [];

  constructor(options: TallyOptions) {
    this.name = options.name;
    this.help = options.help;
    // Unlabelled metrics have prom-client's own Counter and Histogram; these exist for the labelled hot path.
    if (options.labelNames.length === 0) throw new Error(`${options.name}: a tally needs at least one label`);
    this.labelNames = options.labelNames;
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The child for these label values, in labelNames' order. */
  child(...values: string[]): Child {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values`);
    let level = this.lookup;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Level<Child> | undefined;
      if (next === undefined) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    let child = level.get(values[last]!) as Child | undefined;
    if (child === undefined) {
      child = this.createChild();
      level.set(values[last]!, child);
      this.children.push({ labels: Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!])), child });
    }
    return child;
  }

  reset(): void {
    this.lookup.clear();
    this.children.length = 0;
  }

  protected abstract createChild(): Child;
}

export interface TallyCounterChild {
  inc(): void;
}

export class TallyCounter extends Tally<{ value: number; inc(): void }> {
  protected createChild() {
    return {
      value: 0,
      inc() {
        this.value++;
      },
    };
  }

  /** What prom-client asks of a metric when it scrapes. */
  async get() {
    const values = this.children.map(({ labels, child }) => ({ labels, value: child.value }));
    return { name: this.name, help: this.help, type: "counter", aggregator: "sum", values };
  }
}

export interface TallyHistogramChild {
  observe(value: number): void;
}

export class TallyHistogram extends Tally<TallyHistogramChild & { counts: Float64Array; sum: number; count: number }> {
  private readonly buckets: readonly number[];

  constructor(options: TallyOptions & { buckets: readonly number[] }) {
    super(options);
    this.buckets = [...options.buckets].sort((a, b) => a - b);
  }

  protected createChild() {
    const buckets = this.buckets;
    return {
      counts: new Float64Array(buckets.length),
      sum: 0,
      count: 0,
      observe(value: number) {
        this.sum += value;
        this.count++;
        // Counted in the first bucket that holds it; get() makes them cumulative.
        for (let i = 0; i < buckets.length; i++) {
          if (value <= buckets[i]!) {
            this.counts[i]!++;
            return;
          }
        }
      },
    };
  }

  async get() {
    const values = this.children.flatMap(({ labels, child }) => {
      const lines: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += child.counts[i]!;
        lines.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      lines.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: child.count });
      lines.push({ metricName: `${this.name}_sum`, labels, value: child.sum }, { metricName: `${this.name}_count`, labels, value: child.count });
      return lines;
    });
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}

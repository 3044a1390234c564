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

abstract class Tally<Child> {
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  protected readonly children = new Map<string, { labels: Labels; child: Child }>();

  constructor(options: TallyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The child for these label values, in labelNames' order; keep it rather than asking per call. */
  child(...values: string[]): Child {
    const id = values.join("\u0000");
    let entry = this.children.get(id);
    if (entry === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values`);
      entry = { labels: Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!])), child: this.createChild() };
      this.children.set(id, entry);
    }
    return entry.child;
  }

  reset(): void {
    this.children.clear();
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
    const values = [...this.children.values()].map(({ labels, child }) => ({ labels, value: child.value }));
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
    const values = [...this.children.values()].flatMap(({ labels, child }) => {
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

// Tally counters and histograms must scrape exactly as prom-client's own would.
import { Counter, Histogram, Registry } from "prom-client";
import { expect, it } from "vitest";
import { TallyCounter, TallyHistogram } from "../../services/shared/tallyMetrics.js";

const buckets = [0.001, 0.01, 0.1];
const observations = [0.0005, 0.001, 0.005, 0.05, 0.5, 2];

async function scrape(setup: (registry: Registry) => void): Promise<string> {
  const registry = new Registry();
  registry.setDefaultLabels({ process: "test" });
  setup(registry);
  return registry.metrics();
}

it("scrapes like prom-client's Counter and Histogram, default labels included", async () => {
  const expected = await scrape((registry) => {
    const counter = new Counter({ name: "c_total", help: "a counter", labelNames: ["code"], registers: [registry] });
    const histogram = new Histogram({ name: "h_seconds", help: "a histogram", labelNames: ["code"], buckets, registers: [registry] });
    for (const v of observations) {
      counter.inc({ code: "ok" });
      histogram.observe({ code: "ok" }, v);
    }
    counter.inc({ code: "5" });
  });
  const actual = await scrape((registry) => {
    const counter = new TallyCounter({ name: "c_total", help: "a counter", labelNames: ["code"], registry });
    const histogram = new TallyHistogram({ name: "h_seconds", help: "a histogram", labelNames: ["code"], buckets, registry });
    const ok = counter.child("ok");
    const okLatency = histogram.child("ok");
    for (const v of observations) {
      ok.inc();
      okLatency.observe(v);
    }
    counter.child("5").inc();
  });
  // Label order within braces means nothing to Prometheus; prom-client's own varies by metric type.
  const sortLabels = (line: string) => line.replace(/\{([^}]*)\}/, (_, labels: string) => `{${labels.split(",").sort().join(",")}}`);
  const lines = (text: string) => text.split("\n").filter(Boolean).map(sortLabels).sort();
  expect(lines(actual)).toEqual(lines(expected));
});

it("refuses a child with the wrong number of label values", () => {
  const counter = new TallyCounter({ name: "c_total", help: "a counter", labelNames: ["a", "b"], registry: new Registry() });
  expect(() => counter.child("only-one")).toThrow(/2 label values/);
});

it("keeps one child per set of label values, however the values could run together", async () => {
  const registry = new Registry();
  const counter = new TallyCounter({ name: "pairs_total", help: "pairs", labelNames: ["a", "b"], registry });
  expect(counter.child("x", "y")).toBe(counter.child("x", "y"));
  counter.child("x", "y").inc();
  counter.child("x\u0000y", "").inc();
  counter.child("", "x\u0000y").inc();
  counter.child("x", "y").inc();
  expect(() => counter.child("x")).toThrow(/takes 2 label values/);
  const { values } = await counter.get();
  expect(values).toEqual([
    { labels: { a: "x", b: "y" }, value: 2 },
    { labels: { a: "x\u0000y", b: "" }, value: 1 },
    { labels: { a: "", b: "x\u0000y" }, value: 1 },
  ]);
});

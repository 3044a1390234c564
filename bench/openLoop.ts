// An open-loop load generator, run as its own process: request i is sent at
// start + i / rate whatever the server does (on the first timer tick after it
// is due, so within about a millisecond), never held back by slow responses.
// Its latency counts from when it was sent; requests beyond the free
// connections wait in undici's queue, and that wait is part of their latency,
// so a stall shows in every request it holds up. Counting from the due time
// instead would add the timer's own lateness, ~1 ms, to every request. The
// first second (connections opening, the generator warming up) is not counted.
// argv[2]: JSON {url, rate, seconds, connections, headers}; prints a LoadResult as JSON.
import { Pool } from "undici";
import { percentile } from "./stats.js";

interface OpenLoopSpec {
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
}

const spec = JSON.parse(process.argv[2]!) as OpenLoopSpec;
const url = new URL(spec.url);
const pool = new Pool(url.origin, { connections: spec.connections });
const warmup = Math.round(spec.rate);
const total = warmup + Math.round(spec.rate * spec.seconds);
const intervalMs = 1000 / spec.rate;
const latencies = new Float64Array(total);
const statuses: Record<string, number> = {};
let errors = 0;
let sent = 0;
let finished = 0;
let lastFinish = 0;
const start = performance.now() + 20;

await new Promise<void>((resolve) => {
  const settle = (i: number, sentAt: number) => {
    lastFinish = performance.now();
    latencies[i] = lastFinish - sentAt;
    if (++finished === total) resolve();
  };
  const send = (i: number, sentAt = performance.now()) =>
    pool.request({ path: url.pathname + url.search, method: "GET", headers: spec.headers }).then(
      async (res) => {
        await res.body.dump();
        if (i >= warmup) statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        settle(i, sentAt);
      },
      () => {
        if (i >= warmup) errors++;
        settle(i, sentAt);
      },
    );
  // Timers fire a millisecond or so late; each tick sends everything already due.
  const tick = () => {
    const now = performance.now();
    while (sent < total && start + sent * intervalMs <= now) void send(sent++);
    if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
  };
  tick();
});
await pool.close();

const measured = Array.from(latencies.subarray(warmup));
console.log(
  JSON.stringify({
    rps: ((total - warmup) / (lastFinish - (start + warmup * intervalMs))) * 1000,
    p50: percentile(measured, 50),
    p99: percentile(measured, 99),
    total: total - warmup,
    statuses,
    errors,
  }),
);

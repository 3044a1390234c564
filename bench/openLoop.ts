// An open-loop load generator, run as its own process: request i is sent at
// start + i / rate whatever the server does (on the first timer tick after it
// is due, so within about a millisecond), never held back by slow responses.
// Its latency counts from when it was sent; requests beyond the free
// connections wait in a queue, and that wait is part of their latency, so a
// stall shows in every request it holds up. Counting from the due time
// instead would add the timer's own lateness, ~1 ms, to every request. The
// first second (connections opening, the generator warming up) is not counted.
// It speaks HTTP/1.1 over plain sockets (one pre-encoded GET, responses framed
// by Content-Length) rather than through an HTTP client: on two cores the
// generator shares the machine with the server under test, and undici's cost
// per request left it too little CPU at the gateway's half-peak rate (docs/PERFORMANCE.md).
// argv[2]: JSON {url, rate, seconds, connections, headers}; prints a LoadResult as JSON.
import net from "node:net";
import { percentile } from "./stats.js";

interface OpenLoopSpec {
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
}

interface Connection {
  socket: net.Socket;
  /** The request waiting for its response on this connection, if any. */
  current: { index: number; sentAt: number } | undefined;
  received: Buffer;
}

const spec = JSON.parse(process.argv[2]!) as OpenLoopSpec;
const url = new URL(spec.url);
const head = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, ...Object.entries(spec.headers ?? {}).map(([name, value]) => `${name}: ${value}`)];
const request = Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1");
const headEnd = Buffer.from("\r\n\r\n");

const warmup = Math.round(spec.rate);
const total = warmup + Math.round(spec.rate * spec.seconds);
const intervalMs = 1000 / spec.rate;
const latencies = new Float64Array(total);
const statuses: Record<string, number> = {};
let errors = 0;
let sent = 0;
let finished = 0;
let lastFinish = 0;
const queue: Array<{ index: number; sentAt: number }> = [];
let done: () => void;
const allFinished = new Promise<void>((resolve) => (done = resolve));

function settle(index: number, sentAt: number, status: number | undefined): void {
  lastFinish = performance.now();
  latencies[index] = lastFinish - sentAt;
  if (index >= warmup) {
    if (status === undefined) errors++;
    else statuses[status] = (statuses[status] ?? 0) + 1;
  }
  if (++finished === total) done();
}

function dispatch(conn: Connection): void {
  const next = queue.shift();
  if (next === undefined) return;
  conn.current = next;
  conn.socket.write(request);
}

/** Reads as many whole responses as have arrived; each frees the connection for the next queued request. */
function receive(conn: Connection, chunk: Buffer): void {
  conn.received = conn.received.length === 0 ? chunk : Buffer.concat([conn.received, chunk]);
  for (;;) {
    const end = conn.received.indexOf(headEnd);
    if (end < 0 || conn.current === undefined) return;
    const text = conn.received.toString("latin1", 0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
    if (conn.received.length < end + 4 + length) return;
    conn.received = conn.received.subarray(end + 4 + length);
    const { index, sentAt } = conn.current;
    conn.current = undefined;
    settle(index, sentAt, Number(text.slice(9, 12)));
    dispatch(conn);
  }
}

function connect(): Connection {
  const conn: Connection = { socket: net.connect({ host: url.hostname, port: Number(url.port), noDelay: true }), current: undefined, received: Buffer.alloc(0) };
  conn.socket.on("data", (chunk: Buffer) => receive(conn, chunk));
  conn.socket.on("error", () => {});
  // A connection the server closed fails its request and is replaced.
  conn.socket.on("close", () => {
    if (conn.current) settle(conn.current.index, conn.current.sentAt, undefined);
    if (finished < total) {
      const replacement = connect();
      connections[connections.indexOf(conn)] = replacement;
      dispatch(replacement);
    }
  });
  return conn;
}

const connections = Array.from({ length: spec.connections }, connect);
await Promise.all(connections.map((conn) => new Promise((resolve) => conn.socket.once("connect", resolve))));

const start = performance.now() + 20;
// Timers fire a millisecond or so late; each tick sends everything already due.
const tick = () => {
  const now = performance.now();
  while (sent < total && start + sent * intervalMs <= now) {
    queue.push({ index: sent++, sentAt: performance.now() });
    const idle = connections.find((conn) => conn.current === undefined);
    if (idle) dispatch(idle);
  }
  if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
};
tick();
await allFinished;
for (const conn of connections) conn.socket.destroy();

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

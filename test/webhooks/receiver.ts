// A real local webhook receiver for the tests: records every request and
// answers as each test scripts it (status, headers, body, hang or reset).
import http from "node:http";
import type net from "node:net";

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number } | "hang" | "reset";

export interface Receiver {
  url: string;
  received: Received[];
  /** How to answer requests to a path; the default is 200. A promised answer holds the request open until it settles. */
  script(path: string, answer: (n: number) => Answer | Promise<Answer>): void;
  on(path: string): Received[];
  /** The most requests to a path that were open at the same time. */
  maxConcurrent(path: string): number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const scripts = new Map<string, (n: number) => Answer | Promise<Answer>>();
  const sockets = new Set<net.Socket>();
  const open = new Map<string, number>();
  const peak = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = req.url ?? "/";
    open.set(key, (open.get(key) ?? 0) + 1);
    peak.set(key, Math.max(peak.get(key) ?? 0, open.get(key)!));
    res.on("close", () => open.set(key, open.get(key)! - 1));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const n = received.filter((r) => r.path === path).length;
      const answer = (await scripts.get(path)?.(n)) ?? { status: 200 };
      if (answer === "hang") return;
      if (answer === "reset") return void req.socket.destroy();
      setTimeout(() => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body ?? "");
      }, answer.delayMs ?? 0);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (path, answer) => void scripts.set(path, answer),
    on: (path) => received.filter((r) => r.path === path),
    maxConcurrent: (path) => peak.get(path) ?? 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Polls until the check returns a value (not undefined/false), or fails after the deadline. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

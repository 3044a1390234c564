// A webhook receiver the way a careful consumer writes one: it dedupes by
// `webhook-id`, counts what came twice, and can go down and come back on the
// same port (a receiver outage).
import http from "node:http";
import type net from "node:net";

export interface DedupingReceiver {
  url: string;
  /** Every request received, duplicates included. */
  readonly receipts: number;
  /** Distinct webhook-ids received. */
  readonly distinct: number;
  /** Requests whose webhook-id had been received before. */
  readonly duplicates: number;
  /** Distinct webhook-ids received on one path (one webhook each). */
  idsOn(path: string): Set<string>;
  /** Event ids received on one path, from the payload. */
  eventIdsOn(path: string): Set<string>;
  /** Stops listening and drops open connections: the receiver is down. */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

/** `delayMs` holds each answer, like a receiver doing real work: throughput then depends on concurrency. */
export async function startDedupingReceiver(options: { delayMs?: number } = {}): Promise<DedupingReceiver> {
  const seen = new Set<string>();
  const byPath = new Map<string, { ids: Set<string>; events: Set<string> }>();
  let receipts = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      receipts++;
      const id = String(req.headers["webhook-id"]);
      seen.add(id);
      const path = req.url ?? "/";
      const entry = byPath.get(path) ?? { ids: new Set<string>(), events: new Set<string>() };
      byPath.set(path, entry);
      entry.ids.add(id);
      entry.events.add((JSON.parse(Buffer.concat(chunks).toString()) as { id: string }).id);
      setTimeout(() => res.writeHead(204).end(), options.delayMs ?? 0);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", () => resolve()));
  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get receipts() {
      return receipts;
    },
    get distinct() {
      return seen.size;
    },
    get duplicates() {
      return receipts - seen.size;
    },
    idsOn: (path) => byPath.get(path)?.ids ?? new Set(),
    eventIdsOn: (path) => byPath.get(path)?.events ?? new Set(),
    close: async () => {
      if (!server.listening) return;
      const closed = new Promise((r) => server.close(r));
      for (const s of sockets) s.destroy();
      await closed;
    },
    reopen: () => listen(port),
  };
}

// A full garbage collection in a mesh process, asked for over the inspector
// protocol. Under a steady load V8's old generation saws by tens of MiB
// between collections, so RSS sampled then cannot tell garbage not yet
// collected from memory held; right after a full collection it can.
// Processes opt in by starting with `inspectorOption` (NODE_OPTIONS).
import { WebSocket } from "undici";

/** Node option that opens the inspector on a free loopback port and prints its URL. */
export const inspectorOption = "--inspect=127.0.0.1:0";

const timeoutMs = 10_000;

/** The inspector's WebSocket URL, from the line Node prints when it starts listening. */
export function inspectorUrl(logs: string[]): string {
  for (const line of logs) {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
    if (url) return url;
  }
  throw new Error(`no inspector URL in the process's output; was it started with ${inspectorOption}?`);
}

/** Runs HeapProfiler.collectGarbage (a full, compacting collection) and resolves when it is done. */
export async function collectGarbage(url: string): Promise<void> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url}: no answer to collectGarbage within ${timeoutMs} ms`)), timeoutMs);
      ws.onerror = () => reject(new Error(`${url}: inspector connection failed`));
      ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
      ws.onmessage = (message) => {
        const reply = JSON.parse(String(message.data)) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        clearTimeout(timer);
        if (reply.error) reject(new Error(`${url}: collectGarbage failed: ${reply.error.message}`));
        else resolve();
      };
    });
  } finally {
    ws.close();
  }
}

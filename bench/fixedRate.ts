// Calls at a fixed rate from the bench process, whatever the answers (open
// loop): call i is made at start + i / rate, and each call's latency counts
// from when it was made.
const now = () => performance.timeOrigin + performance.now();

/** Calls `send` `rate` times a second for `seconds`; resolves with each call's latency in ms once all have answered. */
export async function callAtFixedRate(send: (sentAt: number) => Promise<unknown>, rate: number, seconds: number): Promise<number[]> {
  const count = Math.round(rate * seconds);
  const started = now();
  const calls: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sentAt = now();
    calls.push(send(sentAt).then(() => now() - sentAt));
  }
  return Promise.all(calls);
}

// Group commit: callers add items one by one; while batches are being written
// the next accumulates, so a busy path pays one round trip (one transaction,
// one RPC) per batch instead of one per item. With more than one batch allowed
// in flight, a quiet path does not make an item wait for someone else's round
// trip before its own starts.

export class Batcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;

  /**
   * `lingerMs` is how long a batch's first item waits for company. The default,
   * none, lets only the current tick's callers join: right for a caller that
   * waits on the result; bookkeeping off the hot path can wait longer and pay
   * one round trip for many items even at a modest rate.
   */
  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 256,
    private readonly maxInFlight = 1,
    private readonly lingerMs = 0,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running < this.maxInFlight) {
        this.running++;
        if (this.lingerMs > 0) setTimeout(() => void this.drain(), this.lingerMs);
        else setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.run(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running--;
  }
}

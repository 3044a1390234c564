// Per-endpoint concurrency cap, so one slow receiver cannot hold every
// delivery slot of a worker while other endpoints wait. A job over the cap
// waits in its endpoint's queue (bounded, first in first out) instead of going
// back to the stream with a delay: a busy endpoint then runs at its cap rather
// than at one small batch per delay. The worker pulls while no queue is more
// than half full, so a fast endpoint's queue refills without turning jobs away.

interface Endpoint<T> {
  running: number;
  waiting: T[];
  /** When one of its items last finished, or when it became busy: a stuck endpoint's stays old. */
  progressAt: number;
}

export class EndpointSlots<T> {
  private readonly endpoints = new Map<string, Endpoint<T>>();
  private crowdedCount = 0;
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly perEndpoint: number,
    private readonly maxWaiting: number,
    private readonly start: (item: T) => void,
  ) {}

  /** Starts the item now, or queues it behind the endpoint's running ones; false when that queue is full too. */
  offer(endpoint: string, item: T): boolean {
    let e = this.endpoints.get(endpoint);
    if (!e) this.endpoints.set(endpoint, (e = { running: 0, waiting: [], progressAt: Date.now() }));
    if (e.running < this.perEndpoint) {
      e.running++;
      this.start(item);
      return true;
    }
    if (e.waiting.length >= this.maxWaiting) return false;
    e.waiting.push(item);
    if (e.waiting.length === this.half + 1) this.crowdedCount++;
    return true;
  }

  /** One of the endpoint's items finished: its slot goes to the next waiting one. */
  release(endpoint: string): void {
    const e = this.endpoints.get(endpoint);
    if (!e) return;
    e.progressAt = Date.now();
    const next = e.waiting.shift();
    if (next === undefined) {
      if (--e.running <= 0) this.endpoints.delete(endpoint);
      return;
    }
    if (e.waiting.length === this.half) this.uncrowd(1);
    this.start(next);
  }

  /** Whether some endpoint's queue is more than half full. */
  get crowded(): boolean {
    return this.crowdedCount > 0;
  }

  /** Whether the endpoint is busy and none of its items finished for `ms`: a receiver that hangs, not one that is merely busy. */
  stalled(endpoint: string, ms: number): boolean {
    const e = this.endpoints.get(endpoint);
    return e !== undefined && Date.now() - e.progressAt >= ms;
  }

  /** Whether some endpoint with a more than half full queue is stalled. */
  crowdedAndStalled(ms: number): boolean {
    for (const [endpoint, e] of this.endpoints) if (e.waiting.length > this.half && this.stalled(endpoint, ms)) return true;
    return false;
  }

  /** Resolves once no endpoint's queue is more than half full. */
  room(): Promise<void> {
    if (this.crowdedCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Every queued item, oldest first per endpoint. */
  *waiting(): Iterable<T> {
    for (const e of this.endpoints.values()) yield* e.waiting;
  }

  /** Empties every queue and returns what was in them. */
  takeWaiting(): T[] {
    const taken = [...this.waiting()];
    for (const e of this.endpoints.values()) e.waiting = [];
    this.uncrowd(this.crowdedCount);
    return taken;
  }

  private get half(): number {
    return Math.floor(this.maxWaiting / 2);
  }

  private uncrowd(n: number): void {
    this.crowdedCount -= n;
    if (this.crowdedCount > 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

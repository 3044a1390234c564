// Per-webhook concurrency cap, so one slow receiver cannot hold every
// delivery slot of a worker while other webhooks wait. A job over the cap
// waits in its webhook's queue (bounded, first in first out) instead of going
// back to the stream with a delay: a busy webhook then runs at its cap rather
// than at one small batch per delay. The worker pulls while no queue is more
// than half full, so a fast webhook's queue refills without turning jobs away.

interface PerWebhook<T> {
  running: number;
  waiting: T[];
  /** When one of its items last finished, or when it became busy: a stuck webhook's stays old. */
  progressAt: number;
}

export class WebhookSlots<T> {
  private readonly webhooks = new Map<string, PerWebhook<T>>();
  private crowdedCount = 0;
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly perWebhook: number,
    private readonly maxWaiting: number,
    private readonly start: (item: T) => void,
  ) {}

  /** Starts the item now, or queues it behind the webhook's running ones; false when that queue is full too. */
  offer(webhook: string, item: T): boolean {
    let e = this.webhooks.get(webhook);
    if (!e) this.webhooks.set(webhook, (e = { running: 0, waiting: [], progressAt: Date.now() }));
    if (e.running < this.perWebhook) {
      e.running++;
      this.start(item);
      return true;
    }
    if (e.waiting.length >= this.maxWaiting) return false;
    e.waiting.push(item);
    if (e.waiting.length === this.half + 1) this.crowdedCount++;
    return true;
  }

  /** One of the webhook's items finished: its slot goes to the next waiting one. */
  release(webhook: string): void {
    const e = this.webhooks.get(webhook);
    if (!e) return;
    e.progressAt = Date.now();
    const next = e.waiting.shift();
    if (next === undefined) {
      if (--e.running <= 0) this.webhooks.delete(webhook);
      return;
    }
    if (e.waiting.length === this.half) this.uncrowd(1);
    this.start(next);
  }

  /** Whether some webhook's queue is more than half full. */
  get crowded(): boolean {
    return this.crowdedCount > 0;
  }

  /** Whether the webhook is busy and none of its items finished for `ms`: a receiver that hangs, not one that is merely busy. */
  stalled(webhook: string, ms: number): boolean {
    const e = this.webhooks.get(webhook);
    return e !== undefined && Date.now() - e.progressAt >= ms;
  }

  /** Whether some webhook with a more than half full queue is stalled. */
  crowdedAndStalled(ms: number): boolean {
    for (const [webhook, e] of this.webhooks) if (e.waiting.length > this.half && this.stalled(webhook, ms)) return true;
    return false;
  }

  /** Resolves once no webhook's queue is more than half full. */
  room(): Promise<void> {
    if (this.crowdedCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Every queued item, oldest first per webhook. */
  *waiting(): Iterable<T> {
    for (const e of this.webhooks.values()) yield* e.waiting;
  }

  /** Empties every queue and returns what was in them. */
  takeWaiting(): T[] {
    const taken = [...this.waiting()];
    for (const e of this.webhooks.values()) e.waiting = [];
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

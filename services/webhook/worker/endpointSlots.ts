// Per-endpoint concurrency cap, so one slow receiver cannot hold every
// delivery slot of a worker while other endpoints wait.

export class EndpointSlots {
  private readonly inUse = new Map<string, number>();

  constructor(private readonly perEndpoint: number) {}

  tryAcquire(endpoint: string): boolean {
    const n = this.inUse.get(endpoint) ?? 0;
    if (n >= this.perEndpoint) return false;
    this.inUse.set(endpoint, n + 1);
    return true;
  }

  release(endpoint: string): void {
    const n = (this.inUse.get(endpoint) ?? 1) - 1;
    if (n <= 0) this.inUse.delete(endpoint);
    else this.inUse.set(endpoint, n);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.inUse.values()) sum += n;
    return sum;
  }
}

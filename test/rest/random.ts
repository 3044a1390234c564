// A seeded generator for property-style tests: every run draws the same cases,
// and a failing case reports its seed so it can be replayed alone.
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(): boolean {
    return this.next() < 0.5;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  array<T>(min: number, max: number, item: () => T): T[] {
    return Array.from({ length: this.int(min, max) }, item);
  }

  /** A string drawn from `alphabet`. */
  text(alphabet: string, min: number, max: number): string {
    const chars = [...alphabet];
    return this.array(min, max, () => this.pick(chars)).join("");
  }
}

/** Letters, digits, URL-reserved characters, spaces and non-ASCII, as callers send them. */
export const anyText = "abcXYZ019-._~ :/?#[]@!$&'()*+,;=%\"<>\\^`{|}é漢😀";

/** Runs `property` for `runs` seeds; the seed is in the failure message. */
export function forAll(runs: number, property: (random: Random) => void): void {
  for (let seed = 1; seed <= runs; seed++) {
    try {
      property(new Random(seed));
    } catch (err) {
      (err as Error).message = `[seed ${seed}] ${(err as Error).message}`;
      throw err;
    }
  }
}

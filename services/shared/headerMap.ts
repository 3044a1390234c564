// The Headers a transcoded call's interceptors and implementation see, without
// WHATWG validation. Node's HTTP parser has already validated and lower-cased
// every request header, and node:http validates response headers again when
// they are written, so undici's Headers (a webidl conversion and a check per
// set, a sorted copy per iteration) only repeated that work: a tenth of the
// gateway's CPU on a REST call. Behaves as Headers does: names are
// case-insensitive, repeated values join with ", ", iteration is sorted by
// name, and set-cookie values stay apart.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const setCookie = "set-cookie";

export class HeaderMap implements Headers {
  private readonly byName = new Map<string, string>();
  private cookies: string[] = [];
  /** Request headers not copied yet: most calls only read one or two of them. */
  private incoming: IncomingHttpHeaders | undefined;

  /** The request headers as Node parsed them; HTTP/2 pseudo-headers (":path") are not headers a handler should see. */
  static fromIncoming(headers: IncomingHttpHeaders): HeaderMap {
    const map = new HeaderMap();
    map.incoming = headers;
    return map;
  }

  /** Copies the request headers in before anything writes or walks them. */
  private own(): void {
    const headers = this.incoming;
    if (headers === undefined) return;
    this.incoming = undefined;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || name.startsWith(":")) continue;
      if (typeof value === "string") this.append(name, value);
      else for (const v of value) this.append(name, v);
    }
  }

  append(name: string, value: string): void {
    this.own();
    const key = name.toLowerCase();
    if (key === setCookie) {
      this.cookies.push(value);
      return;
    }
    const existing = this.byName.get(key);
    this.byName.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }

  set(name: string, value: string): void {
    this.own();
    const key = name.toLowerCase();
    if (key === setCookie) this.cookies = [value];
    else this.byName.set(key, value);
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (this.incoming !== undefined) {
      const value = key.startsWith(":") ? undefined : this.incoming[key];
      return value === undefined ? null : typeof value === "string" ? value : value.join(", ");
    }
    if (key === setCookie) return this.cookies.length > 0 ? this.cookies.join(", ") : null;
    return this.byName.get(key) ?? null;
  }

  has(name: string): boolean {
    if (this.incoming !== undefined) return this.get(name) !== null;
    const key = name.toLowerCase();
    return key === setCookie ? this.cookies.length > 0 : this.byName.has(key);
  }

  delete(name: string): void {
    this.own();
    const key = name.toLowerCase();
    if (key === setCookie) this.cookies = [];
    else this.byName.delete(key);
  }

  getSetCookie(): string[] {
    this.own();
    return [...this.cookies];
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const name of this.sortedNames()) {
      if (name === setCookie) for (const cookie of this.cookies) callback.call(thisArg, cookie, name, this);
      else callback.call(thisArg, this.byName.get(name)!, name, this);
    }
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of this.sortedNames()) {
      if (name === setCookie) for (const cookie of this.cookies) yield [name, cookie];
      else yield [name, this.byName.get(name)!];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Pushes each header's name and value onto `list` in insertion order (writeHead's flat form), leaving out names in `skip`. */
  pushTo(list: string[], skip: ReadonlySet<string>): void {
    this.own();
    for (const [name, value] of this.byName) if (!skip.has(name)) list.push(name, value);
    if (!skip.has(setCookie)) for (const cookie of this.cookies) list.push(setCookie, cookie);
  }

  private sortedNames(): string[] {
    this.own();
    const names = [...this.byName.keys()];
    if (this.cookies.length > 0) names.push(setCookie);
    return names.sort();
  }
}

/** `headers` as Node writes them (one value per name), added to `base`. */
export function outgoingHeaders(headers: Headers | undefined, base: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  headers?.forEach((value, name) => {
    base[name] = value;
  });
  return base;
}

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
const none: ReadonlyMap<string, string> = new Map();

export class HeaderMap implements Headers {
  // Created on the first write: a call's trailers, and often its request
  // headers, are never written, and two Maps per call were a tenth of what a REST call allocated.
  private byName: Map<string, string> | undefined;
  private cookies: string[] | undefined;
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
      (this.cookies ??= []).push(value);
      return;
    }
    const byName = (this.byName ??= new Map());
    const existing = byName.get(key);
    byName.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }

  set(name: string, value: string): void {
    this.own();
    const key = name.toLowerCase();
    if (key === setCookie) this.cookies = [value];
    else (this.byName ??= new Map()).set(key, value);
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (this.incoming !== undefined) {
      const value = key.startsWith(":") ? undefined : this.incoming[key];
      return value === undefined ? null : typeof value === "string" ? value : value.join(", ");
    }
    if (key === setCookie) return this.cookies?.length ? this.cookies.join(", ") : null;
    return this.byName?.get(key) ?? null;
  }

  has(name: string): boolean {
    if (this.incoming !== undefined) return this.get(name) !== null;
    const key = name.toLowerCase();
    return key === setCookie ? (this.cookies?.length ?? 0) > 0 : (this.byName?.has(key) ?? false);
  }

  delete(name: string): void {
    this.own();
    const key = name.toLowerCase();
    if (key === setCookie) this.cookies = undefined;
    else this.byName?.delete(key);
  }

  getSetCookie(): string[] {
    this.own();
    return [...(this.cookies ?? [])];
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    // Most calls' trailers: nothing to sort or visit.
    if (this.incoming === undefined && !this.byName?.size && !this.cookies?.length) return;
    for (const name of this.sortedNames()) {
      if (name === setCookie) for (const cookie of this.cookies!) callback.call(thisArg, cookie, name, this);
      else callback.call(thisArg, this.byName!.get(name)!, name, this);
    }
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of this.sortedNames()) {
      if (name === setCookie) for (const cookie of this.cookies!) yield [name, cookie];
      else yield [name, this.byName!.get(name)!];
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
    for (const [name, value] of this.byName ?? none) if (!skip.has(name)) list.push(name, value);
    if (this.cookies !== undefined && !skip.has(setCookie)) for (const cookie of this.cookies) list.push(setCookie, cookie);
  }

  private sortedNames(): string[] {
    this.own();
    const names = [...(this.byName ?? none).keys()];
    if (this.cookies?.length) names.push(setCookie);
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

// HeaderMap stands in for undici's Headers on the REST path; every operation a
// handler or interceptor may use must answer as Headers does.
import { describe, expect, it } from "vitest";
import { HeaderMap } from "../../services/shared/headerMap.js";

// The same operations on both, then everything observable about the result.
function observe(h: Headers) {
  h.append("X-RateLimit-Limit", "100");
  h.set("x-canary-mode", "false");
  h.append("Vary", "accept");
  h.append("vary", "origin");
  h.append("Set-Cookie", "a=1");
  h.append("set-cookie", "b=2");
  h.set("retry-after", "5");
  h.delete("Retry-After");
  const seen: Array<[string, string]> = [];
  h.forEach((value, name) => seen.push([name, value]));
  return {
    entries: [...h],
    seen,
    keys: [...h.keys()],
    values: [...h.values()],
    vary: h.get("VARY"),
    cookie: h.get("set-cookie"),
    cookies: h.getSetCookie(),
    missing: h.get("retry-after"),
    has: [h.has("x-ratelimit-limit"), h.has("retry-after"), h.has("Set-Cookie")],
    copied: [...new Headers(h)],
  };
}

describe("HeaderMap", () => {
  it("answers every Headers operation as undici's Headers does", () => {
    expect(observe(new HeaderMap())).toEqual(observe(new Headers()));
  });

  it("answers as Headers when nothing was written, or only removed again", () => {
    const empty = (h: Headers) => {
      const seen: string[] = [];
      h.forEach((_, name) => seen.push(name));
      return { seen, entries: [...h], cookies: h.getSetCookie(), cookie: h.get("set-cookie"), has: h.has("set-cookie"), vary: h.get("vary") };
    };
    const emptied = (h: Headers) => {
      h.append("set-cookie", "a=1");
      h.set("vary", "accept");
      h.delete("Set-Cookie");
      h.delete("vary");
      return empty(h);
    };
    expect(empty(new HeaderMap())).toEqual(empty(new Headers()));
    expect(emptied(new HeaderMap())).toEqual(emptied(new Headers()));
    const list: string[] = [];
    new HeaderMap().pushTo(list, new Set());
    expect(list).toEqual([]);
  });

  it("takes Node's parsed request headers, joining repeats and leaving out HTTP/2 pseudo-headers", () => {
    const h = HeaderMap.fromIncoming({ ":path": "/v1/external/me", authorization: "Bearer k", "set-cookie": ["a=1", "b=2"], "x-forwarded-for": "1.1.1.1, 2.2.2.2", "x-empty": undefined });
    expect([...h]).toEqual([
      ["authorization", "Bearer k"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-forwarded-for", "1.1.1.1, 2.2.2.2"],
    ]);
    expect(h.get("Authorization")).toBe("Bearer k");
  });

  it("reads request headers in place, and copies them in whole once something writes", () => {
    const incoming = { ":path": "/x", authorization: "Bearer k", "set-cookie": ["a=1", "b=2"], "x-empty": undefined };
    const h = HeaderMap.fromIncoming(incoming);
    expect([h.get("AUTHORIZATION"), h.get("set-cookie"), h.get(":path"), h.get("x-empty")]).toEqual(["Bearer k", "a=1, b=2", null, null]);
    expect([h.has("authorization"), h.has(":path"), h.has("x-empty")]).toEqual([true, false, false]);
    h.set("x-request-id", "r1");
    h.delete("authorization");
    expect([...h]).toEqual([
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-request-id", "r1"],
    ]);
    expect(incoming.authorization).toBe("Bearer k");
  });
});

// Property-style tests of binding path variables, query parameters and bodies
// to a request message: random values of every field kind round-trip through
// their query form, and every kind of bad input names its field.
import { create, equals, fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { violationsOf } from "../../services/shared/errors.js";
import { requestMessage } from "../../services/shared/transcoding/requestMessage.js";
import { RouteTable } from "../../services/shared/transcoding/routeTable.js";
import { probeFile } from "./probeService.js";
import { anyText, forAll, type Random } from "./random.js";

const { service, probe } = probeFile({
  Get: { pattern: { case: "get", value: "/v1/probes/{name}" }, additionalBindings: [{ pattern: { case: "get", value: "/v1/shelves/{inner.label}/probes/{name=items/*}" } }] },
  Put: { pattern: { case: "put", value: "/v1/probes/{name}" }, body: "inner", responseBody: "inner" },
  Update: { pattern: { case: "patch", value: "/v1/probes/{name}" }, body: "*" },
});
const table = new RouteTable([service]);
const colors = ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN"];

function bind(method: string, path: string, query = "", body?: JsonValue) {
  const match = table.match(method, path);
  if (!match.route) throw new Error(`no route for ${method} ${path}`);
  return requestMessage(match.route, match.variables, query, body);
}

function violations(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    return violationsOf(err as ConnectError);
  }
  throw new Error("expected INVALID_ARGUMENT");
}

const int64 = (r: Random) => (BigInt(r.int(-(2 ** 31), 2 ** 31 - 1)) * 2n ** 32n + BigInt(r.int(0, 2 ** 32 - 1))).toString();

/** A random query string for Probe and the proto3 JSON of the message it must bind to. */
function randomQuery(r: Random): { query: URLSearchParams; expected: JsonObject } {
  const query = new URLSearchParams();
  const expected: JsonObject = {};
  const inner: JsonObject = {};
  const maybe = (field: string, jsonName: string, target: JsonObject, gen: () => [texts: string[], json: JsonValue]) => {
    if (r.next() < 0.4) return;
    const [texts, json] = gen();
    const key = r.bool() ? field : jsonName;
    for (const t of texts) query.append(key, t);
    target[field.split(".").pop()!] = json;
  };
  const boolText = (b: boolean) => r.pick(b ? ["true", "TRUE", "True", "1"] : ["false", "FALSE", "0"]);
  const colorText = (i: number) => (r.bool() ? colors[i] : String(i));
  maybe("i32", "i32", expected, () => {
    const n = r.int(-(2 ** 31), 2 ** 31 - 1);
    return [[String(n)], n];
  });
  maybe("i64", "i64", expected, () => {
    const n = int64(r);
    return [[n], n];
  });
  maybe("u32", "u32", expected, () => {
    const n = r.int(0, 2 ** 32 - 1);
    return [[String(n)], n];
  });
  maybe("flag", "flag", expected, () => {
    const b = r.bool();
    return [[boolText(b)], b];
  });
  maybe("ratio", "ratio", expected, () => {
    const x = (r.next() - 0.5) * 10 ** r.int(0, 12);
    return [[String(x)], x];
  });
  maybe("color", "color", expected, () => {
    const i = r.int(0, 2);
    return [[colorText(i)], colors[i]];
  });
  maybe("tags", "tags", expected, () => {
    const tags = r.array(1, 4, () => r.text(anyText, 0, 10));
    return [tags, tags];
  });
  maybe("colors", "colors", expected, () => {
    const picked = r.array(1, 4, () => r.int(0, 2));
    return [picked.map(colorText), picked.map((i) => colors[i])];
  });
  maybe("at_time", "atTime", expected, () => {
    const iso = new Date(r.int(0, 4_102_444_800_000)).toISOString();
    return [[iso], iso];
  });
  maybe("maybe", "maybe", expected, () => {
    const b = r.bool();
    return [[boolText(b)], b];
  });
  maybe("wrapped", "wrapped", expected, () => {
    const n = r.int(-1000, 1000);
    return [[String(n)], n];
  });
  maybe("inner.label", "inner.label", inner, () => {
    const s = r.text(anyText, 1, 10);
    return [[s], s];
  });
  maybe("inner.depth", "inner.depth", inner, () => {
    const n = r.int(-5, 5);
    return [[String(n)], n];
  });
  maybe("inner.color", "inner.color", inner, () => {
    const i = r.int(0, 2);
    return [[colorText(i)], colors[i]];
  });
  maybe("inner.counts", "inner.counts", inner, () => {
    const counts = r.array(1, 3, () => int64(r));
    return [counts, counts];
  });
  if (Object.keys(inner).length > 0) expected.inner = inner;
  return { query, expected };
}

describe("query binding", () => {
  it("binds random values of every field kind exactly as the JSON body would", () => {
    forAll(400, (r) => {
      const name = r.text(anyText, 1, 12);
      const { query, expected } = randomQuery(r);
      const bound = bind("GET", `/v1/probes/${encodeURIComponent(name)}`, query.toString());
      const want = fromJson(probe, { ...expected, name });
      expect(equals(probe, bound, want), `${query} → ${JSON.stringify(expected)}`).toBe(true);
    });
  });

  it("binds nested path variables of an additional binding", () => {
    const bound = bind("GET", "/v1/shelves/sh%20elf/probes/items/it%2F1", "inner.depth=2");
    expect(equals(probe, bound, fromJson(probe, { name: "items/it%2F1", inner: { label: "sh elf", depth: 2 } }))).toBe(true);
  });

  it("names the field of every unknown, malformed or misplaced parameter", () => {
    forAll(300, (r) => {
      const unknown = `z${r.text("abcdefghijklmnopqrstuvwxyz_", 0, 8)}`;
      const cases: Array<[query: string, field: string]> = [
        [`${unknown}=1`, unknown],
        [`inner.${unknown}=1`, `inner.${unknown}`],
        [`i32=${r.pick(["abc", "1.5", String(2 ** 31 + r.int(0, 1000)), ""])}`, "i32"],
        [`u32=-${r.int(1, 1000)}`, "u32"],
        [`i64=${r.pick(["9223372036854775808", "x1", "1e3x"])}`, "i64"],
        [`color=COLOR_${r.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 5, 9)}`, "color"],
        [`colors=COLOR_RED&colors=${r.int(3, 99) * -1}a`, "colors"],
        [`flag=${r.pick(["maybe", "yes", "2"])}`, "flag"],
        [`at_time=${r.pick(["yesterday", "2020-13-01T00:00:00Z", "1700000000"])}`, "at_time"],
        [`i32=1&i32=2`, "i32"],
        [`inner=x`, "inner"],
        [`name=other`, "name"],
        [`name.x=1`, "name.x"],
      ];
      const [query, field] = r.pick(cases);
      const found = violations(() => bind("GET", "/v1/probes/p", query));
      expect(found.map((v) => v.field), query).toContain(field);
    });
  });
});

describe("body binding", () => {
  it("maps body \"*\" to the whole request, the path winning over the body", () => {
    const bound = bind("PATCH", "/v1/probes/from-path", "", { name: "from-body", i64: 5, inner: { counts: ["1", 2] } });
    expect(equals(probe, bound, create(probe, { name: "from-path", i64: 5n, inner: { counts: [1n, 2n] } } as never))).toBe(true);
  });

  it("maps a body field, and takes the remaining fields from the query", () => {
    const bound = bind("PUT", "/v1/probes/p", "i32=7&tags=a&tags=b", { label: "L", depth: "3" });
    expect(equals(probe, bound, fromJson(probe, { name: "p", i32: 7, tags: ["a", "b"], inner: { label: "L", depth: 3 } }))).toBe(true);
  });

  it("rejects bad bodies naming the field", () => {
    expect(violations(() => bind("PATCH", "/v1/probes/p", "", { i32: "abc", nope: 1 }))).toEqual([
      { field: "i32", description: 'expected number (int32), got "abc"' },
      { field: "nope", description: "unknown field" },
    ]);
    expect(violations(() => bind("PATCH", "/v1/probes/p", "", { inner: { color: "COLOR_BLUE", extra: true } })).map((v) => v.field)).toEqual(["inner.color", "inner.extra"]);
    expect(violations(() => bind("PATCH", "/v1/probes/p", "", [1, 2])).map((v) => v.field)).toEqual(["body"]);
    expect(violations(() => bind("PATCH", "/v1/probes/p", "i32=1")).map((v) => v.field)).toEqual(["i32"]);
    expect(violations(() => bind("PUT", "/v1/probes/p", "", { nope: 1 })).map((v) => v.field)).toEqual(["inner.nope"]);
    expect(violations(() => bind("PUT", "/v1/probes/p", "inner.label=x", {})).map((v) => v.field)).toEqual(["inner.label"]);
  });
});

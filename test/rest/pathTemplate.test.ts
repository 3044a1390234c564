// Property-style tests of google.api.http path templates: any template we can
// generate parses, matches the paths built from it with the exact variable
// values (whatever characters they hold), and rejects paths that differ.
import { describe, expect, it } from "vitest";
import { matchTemplate, parseTemplate, templateShape, TemplateError } from "../../services/shared/transcoding/pathTemplate.js";
import { RouteError, RouteTable } from "../../services/shared/transcoding/routeTable.js";
import { probeFile } from "./probeService.js";
import { anyText, forAll, type Random } from "./random.js";

const literalChars = "abcdefghijklmnopqrstuvwxyz0123456789-_~";

interface Generated {
  template: string;
  /** Builds a matching path and the values each variable must decode to. */
  instance(random: Random): { path: string; values: Array<[string, string]> };
}

function generateTemplate(random: Random): Generated {
  type Part = { text: string; fill(random: Random): { raw: string; value?: [string, string] } };
  const parts: Part[] = [];
  const names = new Set<string>();
  const freshName = () => {
    let name: string;
    do name = random.array(1, 3, () => random.text("abcdefghij", 1, 6)).join(".");
    while ([...names].some((n) => n === name || n.startsWith(`${name}.`) || name.startsWith(`${n}.`)));
    names.add(name);
    return name;
  };
  const count = random.int(1, 6);
  for (let i = 0; i < count; i++) {
    const kind = random.pick(["literal", "literal", "variable", "multi", "wildcard"] as const);
    if (kind === "literal") {
      const literal = `l${random.text(literalChars, 0, 8)}`;
      parts.push({ text: literal, fill: () => ({ raw: literal }) });
    } else if (kind === "wildcard") {
      parts.push({ text: "*", fill: (r) => ({ raw: encodeURIComponent(r.text(anyText, 1, 10)) }) });
    } else if (kind === "variable") {
      const name = freshName();
      parts.push({
        text: `{${name}}`,
        fill: (r) => {
          const value = r.text(anyText, 1, 12);
          return { raw: encodeURIComponent(value), value: [name, value] };
        },
      });
    } else {
      const name = freshName();
      const collection = `c${random.text(literalChars, 0, 5)}`;
      parts.push({
        text: `{${name}=${collection}/*}`,
        fill: (r) => {
          const id = r.text(anyText.replace("/", "").replace("%", ""), 1, 8);
          return { raw: `${collection}/${encodeURIComponent(id)}`, value: [name, `${collection}/${id}`] };
        },
      });
    }
  }
  const deepName = random.bool() ? freshName() : undefined;
  const verb = random.bool() ? random.text("abcdefghijklmnopqrstuvwxyz-", 1, 10) : undefined;
  const template = `/${parts.map((p) => p.text).join("/")}${deepName ? `/{${deepName}=**}` : ""}${verb ? `:${verb}` : ""}`;
  return {
    template,
    instance(r) {
      const filled = parts.map((p) => p.fill(r));
      const raws = filled.map((f) => f.raw);
      const values = filled.flatMap((f) => (f.value ? [f.value] : []));
      if (deepName) {
        const rest = r.array(0, 3, () => r.text(literalChars, 1, 6));
        raws.push(...rest);
        values.push([deepName, rest.join("/")]);
      }
      return { path: `/${raws.join("/")}${verb ? `:${verb}` : ""}`, values };
    },
  };
}

describe("path templates", () => {
  it("match every path built from them, returning each variable's exact value", () => {
    forAll(500, (random) => {
      const generated = generateTemplate(random);
      const template = parseTemplate(generated.template);
      for (let i = 0; i < 5; i++) {
        const { path, values } = generated.instance(random);
        const matched = matchTemplate(template, path);
        expect(matched, `${generated.template} vs ${path}`).toBeDefined();
        expect(matched!.map(([fieldPath, value]) => [fieldPath.join("."), value])).toEqual(values);
      }
    });
  });

  it("do not match a path whose literal, segment count or verb differs", () => {
    forAll(500, (random) => {
      const generated = generateTemplate(random);
      const template = parseTemplate(generated.template);
      const { path } = generated.instance(random);
      const [base, verb] = path.split(/:(?=[a-z-]+$)/);
      const segments = base.split("/");
      const literalAt = template.segments.findIndex((s) => s.kind === "literal");
      const hasDeep = template.segments.some((s) => s.kind === "deep");
      const mutants: string[] = [];
      if (literalAt >= 0) {
        const changed = [...segments];
        changed[literalAt + 1] = `x${changed[literalAt + 1]}`;
        mutants.push(changed.join("/") + (verb ? `:${verb}` : ""));
      }
      if (!hasDeep) mutants.push(`${base}/extra${verb ? `:${verb}` : ""}`);
      if (template.verb !== undefined) mutants.push(`${base}:${template.verb}x`, base);
      for (const mutant of mutants) expect(matchTemplate(template, mutant), `${generated.template} vs ${mutant}`).toBeUndefined();
    });
  });

  it("have the same shape exactly when they differ only in variable names", () => {
    forAll(300, (random) => {
      const a = generateTemplate(random).template;
      const renamed = a.replace(/\{([a-j.]+)/g, (_, name: string) => `{${name.replace(/[a-j]/g, (c) => "klmnopqrst"["abcdefghij".indexOf(c)])}`);
      expect(templateShape(parseTemplate(renamed))).toBe(templateShape(parseTemplate(a)));
    });
  });

  it("parse the forms the gateway uses", () => {
    expect(parseTemplate("/v1/external/webhooks/{id}:rotate-secret")).toMatchObject({ verb: "rotate-secret", variables: [{ fieldPath: ["id"], start: 3, end: 4 }] });
    expect(parseTemplate("/v1/admin/webhooks/dead-letters:replay")).toMatchObject({ verb: "replay", variables: [] });
    expect(parseTemplate("/v1/{book.name=shelves/*/books/*}")).toMatchObject({ variables: [{ fieldPath: ["book", "name"], start: 1, end: 5 }] });
    expect(matchTemplate(parseTemplate("/v1/{book.name=shelves/*/books/*}"), "/v1/shelves/s1/books/a%2Fb")).toEqual([[["book", "name"], "shelves/s1/books/a%2Fb"]]);
    expect(matchTemplate(parseTemplate("/v1/things/{id}"), "/v1/things/a%2Fb")).toEqual([[["id"], "a/b"]]);
    expect(matchTemplate(parseTemplate("/v1/things/{id}"), "/v1/things/")).toBeUndefined();
    expect(matchTemplate(parseTemplate("/v1/things/{id}"), "/v1/things/%E0%A4%A")).toBeUndefined();
  });

  it.each(["v1/x", "/v1/{id", "/v1/{a{b}}", "/v1/**/x", "/v1/{1abc}", "/v1/{id}/{id}", "/v1//x", "/v1/x:", "/v1/{a=}"])("rejects the malformed template %s", (source) => {
    expect(() => parseTemplate(source)).toThrow(TemplateError);
  });
});

describe("route table", () => {
  const get = (value: string) => ({ pattern: { case: "get" as const, value } });

  it("refuses two rules that match the same requests, naming both methods", () => {
    expect(() => new RouteTable([probeFile({ Get: get("/v1/probes/{name}"), Put: get("/v1/probes/{i32}") }).service])).toThrow(
      /conflicting routes: GET \/v1\/probes\/\{i32\} \(resttest.v1.ProbeService.Put\) and \/v1\/probes\/\{name\} \(resttest.v1.ProbeService.Get\)/,
    );
    expect(() =>
      new RouteTable([probeFile({ Get: { ...get("/v1/a/{name}"), additionalBindings: [{ pattern: { case: "get", value: "/v1/a/{i32}" } }] } }).service]),
    ).toThrow(RouteError);
  });

  it("refuses rules that cannot work", () => {
    const bad = [
      get("/v1/probes/{nope}"),
      get("/v1/probes/{inner}"),
      get("/v1/probes/{tags}"),
      get("/v1/probes/{name.x}"),
      { ...get("/v1/probes"), body: "*" },
      { pattern: { case: "post" as const, value: "/v1/probes" }, body: "nope" },
      { pattern: { case: "post" as const, value: "/v1/probes/{name}" }, body: "name" },
      { ...get("/v1/probes"), responseBody: "nope" },
    ];
    for (const rule of bad) expect(() => new RouteTable([probeFile({ Get: rule }).service]), JSON.stringify(rule)).toThrow(RouteError);
  });

  it("prefers literals to variables and verbs to none, and lists allowed methods", () => {
    const table = new RouteTable([
      probeFile({
        Get: get("/v1/probes/{name}"),
        Put: get("/v1/probes/special"),
        Update: { pattern: { case: "post", value: "/v1/probes/{name}:update" }, body: "*" },
      }).service,
    ]);
    const name = (method: string, path: string) => {
      const match = table.match(method, path);
      return match.route ? match.route.method.name : match.allowed;
    };
    expect(name("GET", "/v1/probes/special")).toBe("Put");
    expect(name("GET", "/v1/probes/other")).toBe("Get");
    expect(name("POST", "/v1/probes/other:update")).toBe("Update");
    expect(name("GET", "/v1/probes/other:update")).toBe("Get");
    expect(name("DELETE", "/v1/probes/other")).toEqual(["GET"]);
    expect(name("GET", "/v1/nothing")).toEqual([]);
  });
});

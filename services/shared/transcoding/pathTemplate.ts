// google.api.http path templates (google/api/http.proto):
//   Template = "/" Segments [ Verb ] ;  Segments = Segment { "/" Segment } ;
//   Segment = "*" | "**" | LITERAL | Variable ;  Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   Verb = ":" LITERAL ;
// Parsed once at start-up into flat segments so matching a request is one pass.

export type Segment = { kind: "literal"; value: string } | { kind: "wildcard" } | { kind: "deep" };

export interface TemplateVariable {
  /** Proto field names from the request message down, e.g. ["a", "b"] for {a.b}. */
  fieldPath: string[];
  /** First segment the variable covers. */
  start: number;
  /** One past its last segment; the "**" variable runs to the end of the path. */
  end: number;
}

export interface PathTemplate {
  source: string;
  segments: Segment[];
  variables: TemplateVariable[];
  verb: string | undefined;
}

export class TemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`invalid path template "${template}": ${reason}`);
  }
}

const literalPattern = /^[A-Za-z0-9._~!$&'()+,;=@%-]+$/;
const identPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseTemplate(source: string): PathTemplate {
  const fail = (reason: string): never => {
    throw new TemplateError(source, reason);
  };
  if (!source.startsWith("/")) fail("must start with /");
  // The verb is the part after the first ':' outside braces.
  let depth = 0;
  let verbAt = -1;
  for (let i = 0; i < source.length && verbAt < 0; i++) {
    const c = source[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === ":" && depth === 0) verbAt = i;
    if (depth < 0 || depth > 1) fail("unbalanced or nested braces");
  }
  if (depth !== 0) fail("unbalanced braces");
  const body = verbAt < 0 ? source.slice(1) : source.slice(1, verbAt);
  const verb = verbAt < 0 ? undefined : source.slice(verbAt + 1);
  if (verb !== undefined && !literalPattern.test(verb)) fail(`bad verb "${verb}"`);

  const segments: Segment[] = [];
  const variables: TemplateVariable[] = [];
  const pushSegment = (text: string) => {
    if (text === "*") segments.push({ kind: "wildcard" });
    else if (text === "**") segments.push({ kind: "deep" });
    else if (literalPattern.test(text)) segments.push({ kind: "literal", value: text });
    else fail(`bad segment "${text}"`);
  };
  for (const part of splitOutsideBraces(body)) {
    if (!part.startsWith("{")) {
      pushSegment(part);
      continue;
    }
    if (!part.endsWith("}")) fail(`bad variable "${part}"`);
    const [path, pattern = "*"] = splitOnce(part.slice(1, -1), "=");
    const fieldPath = path.split(".");
    if (!fieldPath.every((p) => identPattern.test(p))) fail(`bad field path "${path}"`);
    if (variables.some((v) => v.fieldPath.join(".") === path)) fail(`variable "${path}" bound twice`);
    const start = segments.length;
    pattern.split("/").forEach(pushSegment);
    variables.push({ fieldPath, start, end: segments.length });
  }
  const deep = segments.findIndex((s) => s.kind === "deep");
  if (deep >= 0 && deep !== segments.length - 1) fail('"**" must be the last segment');
  return { source, segments, variables, verb };
}

/** The template's shape: two templates with the same shape match the same paths. */
export function templateShape(template: PathTemplate): string {
  const parts = template.segments.map((s) => (s.kind === "literal" ? `=${s.value}` : s.kind === "wildcard" ? "*" : "**"));
  return `/${parts.join("/")}${template.verb === undefined ? "" : `:${template.verb}`}`;
}

/** Orders templates most specific first: literals before "*" before "**", verbs first. */
export function compareSpecificity(a: PathTemplate, b: PathTemplate): number {
  const rank = (s: Segment | undefined) => (s === undefined ? 3 : s.kind === "literal" ? 0 : s.kind === "wildcard" ? 1 : 2);
  for (let i = 0; i < Math.max(a.segments.length, b.segments.length); i++) {
    const d = rank(a.segments[i]) - rank(b.segments[i]);
    if (d !== 0) return d;
  }
  return (a.verb === undefined ? 1 : 0) - (b.verb === undefined ? 1 : 0);
}

/** A raw URL path (no query) split once for matching against every template. */
export interface SplitPath {
  segments: string[];
  /** The path read as ending in a verb: segments without it, and the verb. */
  withVerb: { segments: string[]; verb: string } | undefined;
}

export function splitPath(rawPath: string): SplitPath | undefined {
  if (!rawPath.startsWith("/")) return undefined;
  const segments = rawPath.slice(1).split("/");
  const last = segments[segments.length - 1];
  const colon = last.lastIndexOf(":");
  const withVerb = colon < 0 ? undefined : { segments: [...segments.slice(0, -1), last.slice(0, colon)], verb: last.slice(colon + 1) };
  return { segments, withVerb };
}

/**
 * Matches a raw URL path (no query) against a template; returns each
 * variable's field path and decoded value, or undefined when it does not match.
 */
export function matchTemplate(template: PathTemplate, rawPath: string | SplitPath): Array<[string[], string]> | undefined {
  const split = typeof rawPath === "string" ? splitPath(rawPath) : rawPath;
  if (split === undefined) return undefined;
  let raw = split.segments;
  if (template.verb !== undefined) {
    if (split.withVerb?.verb !== template.verb) return undefined;
    raw = split.withVerb.segments;
  }
  const { segments } = template;
  const deep = segments.length > 0 && segments[segments.length - 1].kind === "deep";
  if (deep ? raw.length < segments.length - 1 : raw.length !== segments.length) return undefined;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s.kind === "deep") break;
    if (raw[i] === "") return undefined;
    // Only an escaped segment can decode to something else; every request tries many routes.
    if (s.kind === "literal" && s.value !== raw[i] && (!raw[i].includes("%") || s.value !== decode(raw[i], false))) return undefined;
  }
  const values: Array<[string[], string]> = [];
  for (const v of template.variables) {
    const end = segments[v.end - 1]?.kind === "deep" ? raw.length : v.end;
    const covered = raw.slice(v.start, end);
    // A one-segment value is fully unescaped; a multi-segment one keeps %2F so its "/" stay meaningful.
    const decoded = v.end - v.start === 1 && segments[v.start].kind === "wildcard" ? decode(covered[0], false) : covered.map((r) => decode(r, true)).join("/");
    // NUL cannot be stored in Postgres text; such a path names nothing.
    if (decoded === undefined || decoded.includes("\u0000")) return undefined;
    values.push([v.fieldPath, decoded]);
  }
  return values;
}

function decode(segment: string | undefined, keepSlash: boolean): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return keepSlash ? segment.split(/%2f/i).map(decodeURIComponent).join("%2F") : decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function splitOutsideBraces(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}") depth--;
    else if (text[i] === "/" && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

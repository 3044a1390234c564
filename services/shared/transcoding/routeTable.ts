// The REST route table, built once at start from the google.api.http options
// of every method (primary rule and additional_bindings). A rule that cannot
// work, or two rules that match the same requests, stop start-up.
import { getOption, type DescField, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../../gen/google/api/http_pb.js";
import { findField, isTextual, resolveFieldPath } from "./fieldPath.js";
import { compareSpecificity, matchTemplate, parseTemplate, splitPath, templateShape, type PathTemplate } from "./pathTemplate.js";

export interface Route {
  /** Upper-case HTTP method, e.g. "GET". */
  httpMethod: string;
  template: PathTemplate;
  method: DescMethod;
  /** "" (no body), "*" (the whole request) or the request field the body fills. */
  body: string;
  bodyField: DescField | undefined;
  /** The response field sent as the body, or undefined for the whole response. */
  responseBodyField: DescField | undefined;
  /** Request fields set by path variables, by dotted proto name. */
  pathFields: Set<string>;
}

export type RouteMatch =
  | { route: Route; variables: Array<[string[], string]> }
  | { route: undefined; allowed: string[] };

export class RouteError extends Error {}

const noVariables: Array<[string[], string]> = [];

export class RouteTable {
  readonly routes: readonly Route[];
  /** Routes whose template is all literal, by path and HTTP method: such a path needs no matching. */
  private readonly literal = new Map<string, Map<string, Route>>();

  constructor(services: DescService[]) {
    const routes = services.flatMap((service) => service.methods.flatMap(routesOf));
    const seen = new Map<string, Route>();
    for (const route of routes) {
      const key = `${route.httpMethod} ${templateShape(route.template)}`;
      const other = seen.get(key);
      if (other) {
        throw new RouteError(
          `conflicting routes: ${route.httpMethod} ${route.template.source} (${route.method.parent.typeName}.${route.method.name}) and ${other.template.source} (${other.method.parent.typeName}.${other.method.name})`,
        );
      }
      seen.set(key, route);
    }
    this.routes = routes.sort((a, b) => compareSpecificity(a.template, b.template));
    // The only template of its shape (checked above), and none is more specific than all literals.
    for (const route of routes) {
      if (!route.template.segments.every((s) => s.kind === "literal")) continue;
      const byMethod = this.literal.get(route.template.source) ?? new Map<string, Route>();
      this.literal.set(route.template.source, byMethod.set(route.httpMethod, route));
    }
  }

  /** The most specific route for the method and path, or the methods the path allows (none: unknown path). */
  match(httpMethod: string, path: string): RouteMatch {
    const exact = this.literal.get(path)?.get(httpMethod);
    if (exact !== undefined) return { route: exact, variables: noVariables };
    const split = splitPath(path);
    if (split === undefined) return { route: undefined, allowed: [] };
    let allowed: Set<string> | undefined;
    for (const route of this.routes) {
      const variables = matchTemplate(route.template, split);
      if (variables === undefined) continue;
      if (route.httpMethod === httpMethod) return { route, variables };
      (allowed ??= new Set()).add(route.httpMethod);
    }
    return { route: undefined, allowed: [...(allowed ?? [])].sort() };
  }
}

function routesOf(method: DescMethod): Route[] {
  const rule = getOption(method, http);
  if (rule.pattern.case === undefined) return [];
  const name = `${method.parent.typeName}.${method.name}`;
  if (method.methodKind !== "unary") throw new RouteError(`${name}: only unary methods can be transcoded`);
  return [rule, ...rule.additionalBindings].map((binding, i) => {
    if (i > 0 && binding.additionalBindings.length > 0) throw new RouteError(`${name}: additional_bindings cannot nest`);
    return routeOf(method, binding, name, i === 0 ? rule.responseBody : binding.responseBody || rule.responseBody);
  });
}

function routeOf(method: DescMethod, rule: HttpRule, name: string, responseBody: string): Route {
  const fail = (reason: string): never => {
    throw new RouteError(`${name}: ${reason}`);
  };
  const { pattern } = rule;
  let httpMethod: string;
  let path: string;
  switch (pattern.case) {
    case "custom":
      httpMethod = pattern.value.kind.toUpperCase();
      path = pattern.value.path;
      break;
    case undefined:
      return fail("an additional binding has no pattern");
    default:
      httpMethod = pattern.case.toUpperCase();
      path = pattern.value;
  }
  let template: PathTemplate;
  try {
    template = parseTemplate(path);
  } catch (err) {
    return fail((err as Error).message);
  }
  const pathFields = new Set<string>();
  for (const variable of template.variables) {
    const fields = resolveFieldPath(method.input, variable.fieldPath);
    if (typeof fields === "string") fail(`path ${path}: ${fields}`);
    const leaf = (fields as DescField[])[fields.length - 1];
    if (leaf.fieldKind === "list" || !isTextual(leaf)) fail(`path ${path}: "${variable.fieldPath.join(".")}" must be a singular scalar, enum or textual well-known type`);
    pathFields.add(variable.fieldPath.join("."));
  }
  if (rule.body !== "" && httpMethod === "GET") fail(`GET ${path} cannot take a body`);
  let bodyField: DescField | undefined;
  if (rule.body !== "" && rule.body !== "*") {
    bodyField = findField(method.input, rule.body, false) ?? fail(`body "${rule.body}" is not a field of ${method.input.typeName}`);
    if (pathFields.has(rule.body)) fail(`body "${rule.body}" is also bound by the path`);
  }
  let responseBodyField: DescField | undefined;
  if (responseBody !== "") {
    responseBodyField = findField(method.output, responseBody, false) ?? fail(`response_body "${responseBody}" is not a field of ${method.output.typeName}`);
  }
  return { httpMethod, template, method, body: rule.body, bodyField, responseBodyField, pathFields };
}

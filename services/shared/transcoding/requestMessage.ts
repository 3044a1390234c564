// Builds the request message of a route from an HTTP request the way
// grpc-gateway and Envoy do: the JSON body (all of it, or one field), then the
// path variables, then query parameters for the fields still unbound. Every
// value goes through the proto3 JSON mapping, so "12", "true", enum names and
// RFC 3339 times are read exactly as in a JSON body.
import { create, fromJson, ScalarType, type DescField, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { invalidArgument, type Violation } from "../errors.js";
import { jsonDepthViolations } from "../jsonDepth.js";
import { findField, isTextual, resolveFieldPath } from "./fieldPath.js";
import type { Route } from "./routeTable.js";

/** The request message, or an INVALID_ARGUMENT ConnectError naming every bad field. */
export function requestMessage(
  route: Route,
  variables: Array<[string[], string]>,
  query: string,
  body: JsonValue | undefined,
): MessageShape<DescMessage> {
  const input = route.method.input;
  // A bare GET (no body, path variables or query) reads nothing: its message is the empty one.
  if (body === undefined && variables.length === 0 && query === "") return create(input);
  const violations: Violation[] = [];
  let root: JsonObject = {};
  if (route.body === "*" && body !== undefined) {
    if (isObject(body)) root = { ...body };
    else violations.push({ field: "body", description: `must be a JSON object (${input.typeName})` });
  } else if (route.bodyField && body !== undefined) {
    root[route.bodyField.name] = body;
  }

  for (const [fieldPath, value] of variables) {
    set(root, resolveFieldPath(input, fieldPath) as DescField[], [value]);
  }

  const params = new URLSearchParams(query);
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    const reason = queryProblem(route, key, values.length);
    if (typeof reason === "string") violations.push({ field: key, description: reason });
    else set(root, reason, values);
  }
  // fromJson gives up past 100 message levels with a decoder message; refuse deep values first, by field.
  for (const [key, value] of Object.entries(root)) violations.push(...jsonDepthViolations(value, key));
  if (violations.length > 0) throw invalidArgument(violations);

  try {
    return fromJson(input, root);
  } catch (err) {
    const found = jsonViolations(input, root, "");
    throw invalidArgument(found.length > 0 ? found : [{ field: "body", description: (err as Error).message }]);
  }
}

/** The fields a query parameter sets, or why it cannot set them. */
function queryProblem(route: Route, key: string, count: number): DescField[] | string {
  if (route.body === "*") return "query parameters are not accepted here; send every field in the JSON body";
  const fields = resolveFieldPath(route.method.input, key.split("."), true);
  if (typeof fields === "string") return fields;
  const protoPath = fields.map((f) => f.name).join(".");
  const leaf = fields[fields.length - 1];
  if ([...route.pathFields].some((p) => p === protoPath || p.startsWith(`${protoPath}.`) || protoPath.startsWith(`${p}.`))) {
    return "is set by the URL path";
  }
  if (route.bodyField !== undefined && fields[0] === route.bodyField) return "is set by the request body";
  if (!isTextual(leaf)) return `cannot be set from the query; set its fields as ${key}.<field>=…`;
  if (leaf.fieldKind !== "list" && count > 1) return "is given more than once but is not repeated";
  return fields;
}

/** Writes text values at a resolved field path, creating the objects above it. */
function set(root: JsonObject, fields: DescField[], texts: string[]): void {
  let target = root;
  for (const field of fields.slice(0, -1)) {
    const existing = target[field.name] ?? target[field.jsonName];
    delete target[field.jsonName];
    const next: JsonObject = isObject(existing) ? { ...existing } : {};
    target[field.name] = next;
    target = next;
  }
  const leaf = fields[fields.length - 1];
  delete target[leaf.jsonName];
  const values = texts.map((t) => textToJson(leaf, t));
  target[leaf.name] = leaf.fieldKind === "list" ? values : values[0];
}

/** A query or path text as the JSON value the proto3 mapping expects for the field. */
function textToJson(field: DescField, text: string): JsonValue {
  const scalar = field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar") ? field.scalar : undefined;
  const enumType = field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum") ? field.enum : undefined;
  const message = field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message") ? field.message : undefined;
  if (scalar === ScalarType.BOOL || message?.typeName === "google.protobuf.BoolValue") {
    const lower = text.toLowerCase();
    if (lower === "true" || lower === "1") return true;
    if (lower === "false" || lower === "0") return false;
  }
  if (enumType !== undefined && /^-?\d+$/.test(text)) return Number(text);
  return text;
}

/** Finds which keys of a JSON object fail to decode, recursing into nested messages. */
function jsonViolations(message: DescMessage, json: JsonObject, prefix: string): Violation[] {
  const violations: Violation[] = [];
  for (const [key, value] of Object.entries(json)) {
    const name = `${prefix}${key}`;
    const field = findField(message, key, true);
    if (field === undefined) {
      violations.push({ field: name, description: "unknown field" });
    } else if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.") && isObject(value)) {
      violations.push(...jsonViolations(field.message, value, `${name}.`));
    } else {
      try {
        fromJson(message, { [key]: value });
      } catch (err) {
        violations.push({ field: name, description: describeJsonError((err as Error).message) });
      }
    }
  }
  return violations;
}

// "cannot decode field a.B.c from JSON: expected boolean, got "x"" → "expected boolean, got "x"".
function describeJsonError(message: string): string {
  const enumValue = /^cannot decode enum (\S+) from JSON: (.*)$/.exec(message);
  if (enumValue) return `${enumValue[2]} is not a value of ${enumValue[1]}`;
  return message.replace(/^cannot decode \w+ \S+ from JSON: /, "");
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// The OpenAPI 3.1 document of the REST surface, generated from the same route
// table and descriptors the transcoder serves, so it cannot drift from them.
import { ScalarType, type DescEnum, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { reasons } from "../errors.js";
import { isTextual } from "./fieldPath.js";
import { elementRules, isDeclaredRequired, isRequiredInput, ruleKeywords, rulesOf } from "./fieldRules.js";
import type { PathTemplate } from "./pathTemplate.js";
import type { Route, RouteTable } from "./routeTable.js";

type Schema = Record<string, unknown>;

export interface ResponseHeader {
  description: string;
  schema: Schema;
  required?: boolean;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  license: { name: string } & ({ url: string } | { identifier: string });
  servers: Array<{ url: string; description: string }>;
  /** Security schemes by name; every operation accepts any one of them. */
  securitySchemes?: Record<string, Schema>;
  /** Headers a method's response with this HTTP status carries, by name (X-Request-Id is added to all). */
  responseHeaders?: (method: DescMethod, status: number) => Record<string, ResponseHeader>;
}

/**
 * Request messages are read leniently (int64 as a string or a number) and
 * require what their rules require; response messages are written in the proto3
 * JSON mapping with every implicit field emitted, so those fields are always
 * present, as are message fields whose rules say `required`.
 */
type Direction = "input" | "output";

// Schemas for the well-known types whose proto3 JSON form is not an object of fields.
const wktSchemas: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Struct": { type: "object", additionalProperties: true },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array", items: {} },
  "google.protobuf.Empty": { type: "object", additionalProperties: false },
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true },
  "google.protobuf.StringValue": { type: "string" },
  "google.protobuf.BytesValue": { type: "string", contentEncoding: "base64" },
  "google.protobuf.BoolValue": { type: "boolean" },
  "google.protobuf.Int32Value": { type: "integer", format: "int32" },
  "google.protobuf.UInt32Value": { type: "integer", format: "int32", minimum: 0 },
  "google.protobuf.Int64Value": { type: ["string", "integer"], format: "int64" },
  "google.protobuf.UInt64Value": { type: ["string", "integer"], format: "int64", minimum: 0 },
  "google.protobuf.FloatValue": { type: "number", format: "float" },
  "google.protobuf.DoubleValue": { type: "number", format: "double" },
};

const errorSchemaName = "Error";

type Ref = (message: DescMessage, direction: Direction) => Schema;

export function openApiDocument(routes: RouteTable, info: OpenApiInfo): Schema {
  const schemas: Record<string, Schema> = {};
  const ref: Ref = (message, direction) => {
    if (message.typeName in wktSchemas) return wktSchemas[message.typeName];
    if (!(message.typeName in schemas)) {
      schemas[message.typeName] = {};
      schemas[message.typeName] = messageSchema(message, direction, ref);
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  };

  const security = Object.keys(info.securitySchemes ?? {}).map((name) => ({ [name]: [] }));
  const errorStatuses = [...new Set(Object.values(reasons).map((r) => r.http))].sort();
  // 415 is about a request body; a route without one never answers it.
  const bodylessErrorStatuses = errorStatuses.filter((status) => status !== reasons.UNSUPPORTED_MEDIA_TYPE.http);
  const headersOf = (method: DescMethod, status: number) => ({
    "X-Request-Id": { description: "The request id, yours when valid, else generated.", schema: { type: "string" }, required: true },
    ...(status === reasons.UNAVAILABLE.http ? { "Retry-After": { description: "Seconds to wait before retrying (sent with UNAVAILABLE).", schema: { type: "integer" } } } : {}),
    ...info.responseHeaders?.(method, status),
  });
  const errorResponse = (method: DescMethod, status: number): Schema => ({
    description: errorDescription(status),
    headers: headersOf(method, status),
    content: { "application/json": { schema: { $ref: `#/components/schemas/${errorSchemaName}` } } },
  });

  const paths: Record<string, Record<string, Schema>> = {};
  const tags = new Map<string, string>();
  for (const route of routes.routes) {
    const method = route.method;
    tags.set(method.parent.typeName, `${method.parent.name} RPCs, as REST.`);
    const operation: Schema = {
      operationId: `${method.parent.name}_${method.name}`,
      summary: `${method.parent.typeName}.${method.name}`,
      tags: [method.parent.typeName],
      parameters: [...pathParameters(route, ref), ...queryParameters(route, ref)],
      responses: {
        "200": {
          description: "OK",
          headers: headersOf(method, 200),
          content: { "application/json": { schema: route.responseBodyField ? fieldSchema(route.responseBodyField, "output", ref) : ref(method.output, "output") } },
        },
        ...Object.fromEntries((route.body === "" ? bodylessErrorStatuses : errorStatuses).map((status) => [String(status), errorResponse(method, status)])),
      },
    };
    if (security.length > 0) operation.security = security;
    if (route.body !== "") {
      operation.requestBody = { required: route.body !== "*", content: { "application/json": { schema: bodySchema(route, ref) } } };
    }
    (paths[openApiPath(route.template)] ??= {})[route.httpMethod.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}), license: info.license },
    servers: info.servers,
    tags: [...tags].map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: { ...schemas, [errorSchemaName]: errorSchema() },
      ...(info.securitySchemes ? { securitySchemes: info.securitySchemes } : {}),
    },
  };
}

/** "`NOT_FOUND`: Check the id; …" for each contract code answered with this status. */
function errorDescription(status: number): string {
  return Object.entries(reasons)
    .filter(([, r]) => r.http === status)
    .map(([code, r]) => `\`${code}\`: ${r.recovery}`)
    .join("\n\n");
}

/** "/v1/{name=shelves/*}:get" → "/v1/{name}:get"; an unnamed "*" becomes a parameter of its own. */
function openApiPath(template: PathTemplate): string {
  const parts: string[] = [];
  for (let i = 0; i < template.segments.length; i++) {
    const variable = template.variables.find((v) => v.start === i);
    const segment = template.segments[i];
    if (variable) {
      parts.push(`{${variable.fieldPath.join(".")}}`);
      i = variable.end - 1;
    } else {
      parts.push(segment.kind === "literal" ? segment.value : `{segment${i}}`);
    }
  }
  return `/${parts.join("/")}${template.verb === undefined ? "" : `:${template.verb}`}`;
}

function pathParameters(route: Route, ref: Ref): Schema[] {
  const { template } = route;
  const named = template.variables.map((v) => {
    const field = leafField(route.method.input, v.fieldPath);
    const pattern = template.segments
      .slice(v.start, v.end)
      .map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**"))
      .join("/");
    return {
      name: v.fieldPath.join("."),
      in: "path",
      required: true,
      schema: fieldSchema(field, "input", ref),
      ...(pattern === "*" ? {} : { description: `Matches ${pattern}.` }),
    };
  });
  const unnamed = template.segments.flatMap((s, i) =>
    s.kind === "literal" || template.variables.some((v) => i >= v.start && i < v.end) ? [] : [{ name: `segment${i}`, in: "path", required: true, schema: { type: "string" } }],
  );
  return [...named, ...unnamed];
}

/** Every textual field not bound by the path or body, with dotted names into nested messages. */
function queryParameters(route: Route, ref: Ref): Schema[] {
  if (route.body === "*") return [];
  const params: Schema[] = [];
  const visit = (message: DescMessage, prefix: string, seen: Set<string>) => {
    for (const field of message.fields) {
      const name = `${prefix}${field.name}`;
      if (route.pathFields.has(name) || (prefix === "" && field === route.bodyField)) continue;
      if (isTextual(field)) {
        const schema = fieldSchema(field, "input", ref);
        params.push({ name, in: "query", required: prefix === "" && isRequiredInput(field), schema, ...(field.fieldKind === "list" ? { style: "form", explode: true } : {}) });
      } else if (field.fieldKind === "message" && !seen.has(field.message.typeName)) {
        visit(field.message, `${name}.`, new Set([...seen, field.message.typeName]));
      }
    }
  };
  visit(route.method.input, "", new Set([route.method.input.typeName]));
  return params;
}

function bodySchema(route: Route, ref: Ref): Schema {
  if (route.bodyField) return fieldSchema(route.bodyField, "input", ref);
  const input = route.method.input;
  const topLevelPathFields = new Set([...route.pathFields].filter((p) => !p.includes(".")));
  if (topLevelPathFields.size === 0) return ref(input, "input");
  // Fields the path sets are not repeated in the body schema.
  return messageSchema(input, "input", ref, topLevelPathFields);
}

function messageSchema(message: DescMessage, direction: Direction, ref: Ref, omit = new Set<string>()): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const field of message.fields) {
    if (omit.has(field.name)) continue;
    properties[field.name] = fieldSchema(field, direction, ref);
    if (direction === "input" ? isRequiredInput(field) : isAlwaysWritten(field)) required.push(field.name);
  }
  return { type: "object", title: message.name, properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

// The gateway writes JSON with alwaysEmitImplicit: only fields with explicit
// presence (messages, `optional`, oneof members) can be missing, and a message
// field whose rules say `required` never is.
function isAlwaysWritten(field: DescField): boolean {
  if (field.fieldKind === "message") return isDeclaredRequired(field);
  if (field.fieldKind === "list" || field.fieldKind === "map") return true;
  return field.presence === FeatureSet_FieldPresence.IMPLICIT && field.oneof === undefined;
}

function fieldSchema(field: DescField, direction: Direction, ref: Ref): Schema {
  const rules = rulesOf(field);
  const element = (schema: Schema) => ({ ...schema, ...ruleKeywords(elementRules(rules)) });
  switch (field.fieldKind) {
    case "scalar":
      return { ...scalarSchema(field.scalar, direction), ...ruleKeywords(rules) };
    case "enum":
      return enumSchema(field.enum);
    case "message":
      return ref(field.message, direction);
    case "list":
      return {
        type: "array",
        items: element(field.listKind === "scalar" ? scalarSchema(field.scalar, direction) : field.listKind === "enum" ? enumSchema(field.enum) : ref(field.message, direction)),
        ...ruleKeywords(rules),
      };
    case "map":
      return {
        type: "object",
        additionalProperties: element(
          field.mapKind === "scalar" ? scalarSchema(field.scalar, direction) : field.mapKind === "enum" ? enumSchema(field.enum) : ref(field.message, direction),
        ),
        ...ruleKeywords(rules),
      };
  }
}

function scalarSchema(scalar: ScalarType, direction: Direction): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int32", minimum: 0 };
    default:
      // The proto3 JSON mapping writes 64-bit integers as strings and reads either form.
      return direction === "output" ? { type: "string", format: "int64", pattern: "^-?[0-9]+$" } : { type: ["string", "integer"], format: "int64" };
  }
}

function enumSchema(desc: DescEnum): Schema {
  return { type: "string", enum: desc.values.map((v) => v.name) };
}

function leafField(message: DescMessage, fieldPath: string[]): DescField {
  let current = message;
  let field: DescField | undefined;
  for (const name of fieldPath) {
    field = current.fields.find((f) => f.name === name);
    if (field?.fieldKind === "message") current = field.message;
  }
  return field as DescField;
}

function errorSchema(): Schema {
  return {
    type: "object",
    required: ["code", "message", "recovery", "request_id"],
    properties: {
      code: { type: "string", enum: Object.keys(reasons) },
      message: { type: "string" },
      recovery: { type: "string", description: "What the caller can do about it." },
      request_id: { type: "string", description: "Also in the X-Request-Id header; quote it when reporting a problem." },
      violations: {
        type: "array",
        items: { type: "object", required: ["field", "description"], properties: { field: { type: "string" }, description: { type: "string" } } },
      },
    },
  };
}

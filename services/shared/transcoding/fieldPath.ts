// Dotted field paths ("a.b.c") into a request message, as path variables and
// query parameters name them.
import type { DescField, DescMessage } from "@bufbuild/protobuf";

// Well-known types whose proto3 JSON form is a single string, number or bool,
// so a path segment or query value can set them directly.
const textualWkts = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.BoolValue",
  "google.protobuf.Int32Value",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
]);

/** Whether a field (or each element of a repeated one) can be written as text. */
export function isTextual(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return true;
    case "message":
      return textualWkts.has(field.message.typeName);
    case "list":
      return field.listKind !== "message" || textualWkts.has(field.message.typeName);
    case "map":
      return false;
  }
}

/** Finds a field by its proto name, or by its JSON name when `jsonNames` is set. */
export function findField(message: DescMessage, name: string, jsonNames: boolean): DescField | undefined {
  return message.fields.find((f) => f.name === name || (jsonNames && f.jsonName === name));
}

/**
 * Resolves a path to its fields: every step but the last must be a singular,
 * non-textual message field. Returns a reason string when it does not resolve.
 */
export function resolveFieldPath(message: DescMessage, names: string[], jsonNames = false): DescField[] | string {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of names.entries()) {
    const field: DescField | undefined = current && findField(current, name, jsonNames);
    if (field === undefined) return `unknown field "${names.slice(0, i + 1).join(".")}"`;
    fields.push(field);
    const last = i === names.length - 1;
    if (!last && (field.fieldKind !== "message" || textualWkts.has(field.message.typeName))) {
      return `"${names.slice(0, i + 1).join(".")}" is not a message, so it has no field "${names[i + 1]}"`;
    }
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

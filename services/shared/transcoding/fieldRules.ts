// The buf.validate rules of a field as JSON Schema keywords, so the OpenAPI
// document states the same limits requestRules() enforces (lengths, patterns,
// allowed values, ranges, item and pair counts) and which fields are required.
import { getOption, hasOption, type DescField } from "@bufbuild/protobuf";
import { field as fieldRulesOption, type FieldRules } from "../../../gen/buf/validate/validate_pb.js";

type Schema = Record<string, unknown>;

export function rulesOf(field: DescField): FieldRules | undefined {
  return hasOption(field, fieldRulesOption) ? getOption(field, fieldRulesOption) : undefined;
}

/** Whether a request must set the field: `required`, a minimum length or a minimum item count. */
export function isRequiredInput(field: DescField): boolean {
  const rules = rulesOf(field);
  if (!rules) return false;
  if (rules.required) return true;
  if (rules.type.case === "string") return rules.type.value.minLen > 0n;
  if (rules.type.case === "repeated") return rules.type.value.minItems > 0n;
  return false;
}

/** Whether the field's rules say it is always set (on output messages, a promise to the reader). */
export function isDeclaredRequired(field: DescField): boolean {
  return rulesOf(field)?.required === true;
}

/** JSON Schema keywords for one value under `rules` (a field, or a list item or map value). */
export function ruleKeywords(rules: FieldRules | undefined): Schema {
  if (!rules) return {};
  const { case: kind, value } = rules.type;
  switch (kind) {
    case "string":
      return {
        ...(value.minLen > 0n ? { minLength: Number(value.minLen) } : {}),
        ...(value.maxLen > 0n ? { maxLength: Number(value.maxLen) } : {}),
        ...(value.pattern ? { pattern: value.pattern } : {}),
        ...(value.in.length > 0 ? { enum: [...value.in] } : {}),
      };
    case "int32":
    case "int64":
      return {
        ...(value.greaterThan.case === "gte" ? { minimum: Number(value.greaterThan.value) } : {}),
        ...(value.greaterThan.case === "gt" ? { exclusiveMinimum: Number(value.greaterThan.value) } : {}),
        ...(value.lessThan.case === "lte" ? { maximum: Number(value.lessThan.value) } : {}),
        ...(value.lessThan.case === "lt" ? { exclusiveMaximum: Number(value.lessThan.value) } : {}),
      };
    case "repeated":
      return {
        ...(value.minItems > 0n ? { minItems: Number(value.minItems) } : {}),
        ...(value.maxItems > 0n ? { maxItems: Number(value.maxItems) } : {}),
      };
    case "map":
      return {
        ...(value.minPairs > 0n ? { minProperties: Number(value.minPairs) } : {}),
        ...(value.maxPairs > 0n ? { maxProperties: Number(value.maxPairs) } : {}),
        ...(value.keys ? { propertyNames: ruleKeywords(value.keys) } : {}),
      };
    default:
      return {};
  }
}

/** The rules of a list's items or a map's values. */
export function elementRules(rules: FieldRules | undefined): FieldRules | undefined {
  if (rules?.type.case === "repeated") return rules.type.value.items;
  if (rules?.type.case === "map") return rules.type.value.values;
  return undefined;
}

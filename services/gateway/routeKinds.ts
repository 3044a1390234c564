// Admin and monitoring routes are told apart by their REST path in the
// google.api.http annotation, so one table (the proto) decides who may call.
import { getOption, type DescMethod } from "@bufbuild/protobuf";
import { http } from "../../gen/google/api/annotations_pb.js";

const adminPrefixes = ["/v1/admin/", "/v1/monitoring/"];

export function httpPath(method: DescMethod): string | undefined {
  const { pattern } = getOption(method, http);
  if (pattern.case === undefined) return undefined;
  return pattern.case === "custom" ? pattern.value.path : pattern.value;
}

/** Whether the method needs ONERING_ADMIN_KEY rather than an API key. */
export function isAdminMethod(method: DescMethod): boolean {
  const path = httpPath(method);
  return path !== undefined && adminPrefixes.some((prefix) => path.startsWith(prefix));
}

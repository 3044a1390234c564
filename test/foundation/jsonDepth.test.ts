// The JSON nesting limit of request values (event data): counted in objects and
// arrays, refused one level past the limit at any depth without deep recursion,
// and found by field in a binary request too deep for protobuf-es to decode.
import { create, toBinary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PublishEventRequestSchema } from "../../gen/onering/v1/webhook_pb.js";
import { violationsOf } from "../../services/shared/errors.js";
import { jsonDepthViolations, maxJsonDepth } from "../../services/shared/jsonDepth.js";
import { tooDeepRequest } from "../../services/shared/tooDeepRequest.js";

/** `levels` objects (or arrays) nested inside one another; {"a":1} is one level. */
const nested = (levels: number, wrap: (inner: JsonValue) => JsonValue = (inner) => ({ a: inner })) => {
  let value: JsonValue = 1;
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value;
};

describe("jsonDepthViolations", () => {
  it("allows up to maxJsonDepth levels and refuses one more, naming the field", () => {
    expect(maxJsonDepth).toBe(32);
    expect(jsonDepthViolations(nested(32), "data")).toEqual([]);
    expect(jsonDepthViolations(nested(33), "data")).toEqual([{ field: "data", description: "must not nest objects and arrays more than 32 levels deep" }]);
  });

  it("counts arrays as levels, and scalars and empty containers as none below them", () => {
    expect(jsonDepthViolations(nested(33, (inner) => [inner]), "data")).toHaveLength(1);
    expect(jsonDepthViolations(nested(31, (inner) => ({ list: [inner] })), "data")).toHaveLength(1);
    expect(jsonDepthViolations({ a: "x", b: [], c: {}, d: null }, "data")).toEqual([]);
    expect(jsonDepthViolations(undefined, "data")).toEqual([]);
  });

  it("finds a deep branch beside shallow ones", () => {
    expect(jsonDepthViolations({ shallow: 1, wide: Array.from({ length: 1000 }, (_, i) => i), deep: nested(32) }, "data")).toHaveLength(1);
  });

  it("answers for 200,000 levels without exhausting the stack", () => {
    expect(jsonDepthViolations(JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`) as JsonValue, "data")).toHaveLength(1);
  });
});

describe("tooDeepRequest", () => {
  const encoded = (levels: number) => toBinary(PublishEventRequestSchema, create(PublishEventRequestSchema, { type: "a.b", data: nested(levels) as JsonObject }));

  it("names the field nested past protobuf-es's 100 message levels (50 JSON levels and more)", () => {
    for (const levels of [50, 99, 150]) {
      const err = tooDeepRequest(PublishEventRequestSchema, encoded(levels));
      expect(err && violationsOf(err), `${levels} levels`).toEqual([{ field: "data", description: "must not nest objects and arrays more than 32 levels deep" }]);
    }
  });

  it("leaves a decodable or malformed request to the decoder's own error", () => {
    expect(tooDeepRequest(PublishEventRequestSchema, encoded(49))).toBeUndefined();
    expect(tooDeepRequest(PublishEventRequestSchema, Uint8Array.of(0x12, 0x7f, 0x01))).toBeUndefined();
  });
});

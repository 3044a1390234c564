// RequestRules checks the buf.validate rules of a request; a request type
// with no fields and no message options (GetMe's) has none and is passed
// without asking the validator, while an empty message with a message-level
// rule is still checked.
import { create, createFileRegistry, setExtension, type DescMethod } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, MessageOptionsSchema, file_google_protobuf_empty } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { file_buf_validate_validate, message as messageRules, MessageRulesSchema } from "../../gen/buf/validate/validate_pb.js";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { violationsOf } from "../../services/shared/errors.js";
import { RequestRules } from "../../services/shared/requestRules.js";

function ruledService(): DescMethod {
  const options = create(MessageOptionsSchema);
  setExtension(options, messageRules, create(MessageRulesSchema, { cel: [{ id: "never", message: "this request is never valid", expression: "false" }] }));
  const registry = createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: "rulestest/v1/ruled.proto",
      package: "rulestest.v1",
      syntax: "proto3",
      dependency: ["buf/validate/validate.proto", "google/protobuf/empty.proto"],
      messageType: [{ name: "Refused", options }],
      service: [{ name: "RuledService", method: [{ name: "Call", inputType: ".rulestest.v1.Refused", outputType: ".google.protobuf.Empty" }] }],
    }),
    (name) => ({ "buf/validate/validate.proto": file_buf_validate_validate, "google/protobuf/empty.proto": file_google_protobuf_empty })[name],
  );
  return registry.getService("rulestest.v1.RuledService")!.methods[0]!;
}

it("checks a message-level rule on a request without fields", () => {
  const method = ruledService();
  try {
    new RequestRules().check(method, create(method.input));
    expect.unreachable("the rule always fails");
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect(violationsOf(err as ConnectError)).toEqual([{ field: "", description: "this request is never valid" }]);
  }
});

it("passes a request type that can carry no rule", () => {
  expect(() => new RequestRules().check(GatewayService.method.getMe, create(GatewayService.method.getMe.input))).not.toThrow();
});

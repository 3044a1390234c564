// A test-only service whose request message has every kind of field the
// transcoder binds (enums, 32/64-bit ints, bools, doubles, repeated, nested,
// Timestamp, wrappers, proto3 optional), built as a descriptor in memory.
import { create, createFileRegistry, setExtension, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FieldDescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  MethodOptionsSchema,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import { file_google_api_annotations, http } from "../../gen/google/api/annotations_pb.js";
import { HttpRuleSchema, type HttpRule } from "../../gen/google/api/http_pb.js";

type FieldInit = { name: string; number: number; type: Type; label?: Label; typeName?: string; proto3Optional?: boolean; oneofIndex?: number };

const field = (f: FieldInit): MessageInitShape<typeof FieldDescriptorProtoSchema> => ({ label: Label.OPTIONAL, jsonName: camel(f.name), ...f });
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export type RuleInit = MessageInitShape<typeof HttpRuleSchema>;

/** Builds ProbeService with the given http rules per method (Get, Put, Update). */
export function probeFile(rules: Record<string, RuleInit>) {
  const methodOptions = (rule: RuleInit) => {
    const options = create(MethodOptionsSchema);
    setExtension(options, http, create(HttpRuleSchema, rule) as HttpRule);
    return options;
  };
  const proto = create(FileDescriptorProtoSchema, {
    name: "resttest/v1/probe.proto",
    package: "resttest.v1",
    syntax: "proto3",
    dependency: ["google/api/annotations.proto", "google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"],
    enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }, { name: "COLOR_GREEN", number: 2 }] }],
    messageType: [
      {
        name: "Inner",
        field: [
          field({ name: "label", number: 1, type: Type.STRING }),
          field({ name: "depth", number: 2, type: Type.INT32 }),
          field({ name: "color", number: 3, type: Type.ENUM, typeName: ".resttest.v1.Color" }),
          field({ name: "counts", number: 4, type: Type.INT64, label: Label.REPEATED }),
        ],
      },
      {
        name: "Probe",
        field: [
          field({ name: "name", number: 1, type: Type.STRING }),
          field({ name: "i32", number: 2, type: Type.INT32 }),
          field({ name: "i64", number: 3, type: Type.INT64 }),
          field({ name: "u32", number: 4, type: Type.UINT32 }),
          field({ name: "flag", number: 5, type: Type.BOOL }),
          field({ name: "ratio", number: 6, type: Type.DOUBLE }),
          field({ name: "color", number: 7, type: Type.ENUM, typeName: ".resttest.v1.Color" }),
          field({ name: "tags", number: 8, type: Type.STRING, label: Label.REPEATED }),
          field({ name: "colors", number: 9, type: Type.ENUM, typeName: ".resttest.v1.Color", label: Label.REPEATED }),
          field({ name: "inner", number: 10, type: Type.MESSAGE, typeName: ".resttest.v1.Inner" }),
          field({ name: "at_time", number: 11, type: Type.MESSAGE, typeName: ".google.protobuf.Timestamp" }),
          field({ name: "maybe", number: 12, type: Type.BOOL, proto3Optional: true, oneofIndex: 0 }),
          field({ name: "wrapped", number: 13, type: Type.MESSAGE, typeName: ".google.protobuf.Int32Value" }),
        ],
        oneofDecl: [{ name: "_maybe" }],
      },
    ],
    service: [
      {
        name: "ProbeService",
        method: Object.entries(rules).map(([name, rule]) => ({
          name,
          inputType: ".resttest.v1.Probe",
          outputType: ".resttest.v1.Probe",
          options: methodOptions(rule),
        })),
      },
    ],
  });
  const deps = new Map([file_google_api_annotations, file_google_protobuf_timestamp, file_google_protobuf_wrappers].map((f) => [`${f.name}.proto`, f]));
  const registry = createFileRegistry(proto, (name) => deps.get(name));
  return {
    service: registry.getService("resttest.v1.ProbeService") as DescService,
    probe: registry.getMessage("resttest.v1.Probe") as DescMessage,
    inner: registry.getMessage("resttest.v1.Inner") as DescMessage,
  };
}

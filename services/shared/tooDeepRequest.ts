// A binary request nested past protobuf-es's 100 message levels (event data
// about 50 JSON levels deep) fails to decode before any handler can refuse it,
// as INTERNAL with the decoder's words. This finds the fields at fault, so the
// caller gets the INVALID_ARGUMENT a handler would have given. In the mesh's
// protos only google.protobuf.Struct/Value/ListValue recurse, so such a field
// is JSON nested deeper than maxJsonDepth.
import { fromBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { ConnectError } from "@connectrpc/connect";
import { invalidArgument } from "./errors.js";
import { tooDeepViolation } from "./jsonDepth.js";

// A top-level field decoded alone is one level shallower than inside its request.
const fieldRecursionLimit = 99;

/** The message type a field holds, alone or in a list, if any. */
export function messageType(field: DescField | undefined): DescMessage | undefined {
  if (field?.fieldKind === "message") return field.message;
  if (field?.fieldKind === "list" && field.listKind === "message") return field.message;
  return undefined;
}

function tooDeep(schema: DescMessage, bytes: Uint8Array): boolean {
  try {
    fromBinary(schema, bytes, { recursionLimit: fieldRecursionLimit });
    return false;
  } catch (err) {
    return /maximum recursion depth/.test(String(err));
  }
}

/** INVALID_ARGUMENT naming the top-level fields of `bytes` that nest too deeply to decode, or undefined when none does. */
export function tooDeepRequest(schema: DescMessage, bytes: Uint8Array): ConnectError | undefined {
  const names = new Set<string>();
  const reader = new BinaryReader(bytes);
  try {
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      const field = schema.fields.find((f) => f.number === number);
      const type = messageType(field);
      if (type === undefined || wireType !== WireType.LengthDelimited) reader.skip(wireType, number);
      else if (tooDeep(type, reader.bytes())) names.add(field!.name);
    }
  } catch {
    // Malformed framing: the decoder's own error stands.
  }
  return names.size > 0 ? invalidArgument([...names].map(tooDeepViolation)) : undefined;
}

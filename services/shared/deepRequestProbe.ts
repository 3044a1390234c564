// Connect decodes a request before any interceptor or handler runs, and
// protobuf-es gives up past 100 message levels (event data about 50 JSON levels
// deep in binary, 99 in JSON) with INTERNAL and the decoder's words. For the
// methods whose input can nest that deeply (a google.protobuf.Struct somewhere
// inside), connectAdapter.ts reads the body first and asks this probe whether
// it is too deep; if so, Connect is handed an empty message instead and the
// refusal interceptor answers with the violation, in the caller's protocol.
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { contentTypeUnaryRegExp } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { invalidArgument } from "./errors.js";
import { compressedFlag, encodeEnvelope, envelopeEnd, envelopeHeaderBytes } from "./grpcEnvelope.js";
import { jsonDepthViolations } from "./jsonDepth.js";
import { messageType, tooDeepRequest } from "./tooDeepRequest.js";

export const acceptedCompression: Compression[] = [compressionGzip, compressionBrotli];

const recursiveTypes = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);

/** Whether a message of this type can hold a google.protobuf.Struct, Value or ListValue at any depth. */
export function canNestDeeply(schema: DescMessage, seen = new Set<string>()): boolean {
  if (recursiveTypes.has(schema.typeName)) return true;
  if (seen.has(schema.typeName)) return false;
  seen.add(schema.typeName);
  return schema.fields.some((field) => {
    const type = field.fieldKind === "map" && field.mapKind === "message" ? field.message : messageType(field);
    return type !== undefined && canNestDeeply(type, seen);
  });
}

/** How a request body frames its message, as far as the probe needs to know. */
interface Framing {
  json: boolean;
  /** gRPC and gRPC-Web put the message in an envelope; Connect's unary protocol sends it bare. */
  enveloped: boolean;
  /** gRPC-Web's text variant: the envelope in base64. */
  base64: boolean;
  compressionHeader: "content-encoding" | "grpc-encoding";
}

function framingOf(contentType: string | null): Framing | undefined {
  if (contentType === null) return undefined;
  if (contentTypeUnaryRegExp.test(contentType)) {
    return { json: /json/i.test(contentType), enveloped: false, base64: false, compressionHeader: "content-encoding" };
  }
  const grpcWeb = parseGrpcWebContentType(contentType);
  if (grpcWeb) return { json: !grpcWeb.binary, enveloped: true, base64: grpcWeb.text, compressionHeader: "grpc-encoding" };
  const grpc = parseGrpcContentType(contentType);
  if (grpc) return { json: !grpc.binary, enveloped: true, base64: false, compressionHeader: "grpc-encoding" };
  return undefined;
}

async function messageBytes(framing: Framing, header: Headers, body: Uint8Array, readMaxBytes: number): Promise<Uint8Array | undefined> {
  let bytes = framing.base64 ? Buffer.from(Buffer.from(body).toString("latin1"), "base64") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let compressed = !framing.enveloped;
  if (framing.enveloped) {
    const end = envelopeEnd(bytes);
    if (end === undefined) return undefined;
    compressed = (bytes[0]! & compressedFlag) !== 0;
    bytes = bytes.subarray(envelopeHeaderBytes, end);
  }
  const encoding = header.get(framing.compressionHeader);
  if (!compressed || encoding === null || encoding === "identity") return bytes;
  const compression = acceptedCompression.find((c) => c.name === encoding);
  return compression?.decompress(bytes, readMaxBytes);
}

function tooDeepJson(schema: DescMessage, text: string): ConnectError | undefined {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (request === null || typeof request !== "object" || Array.isArray(request)) return undefined;
  const violations = Object.entries(request).flatMap(([key, value]) => {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    return field === undefined ? [] : jsonDepthViolations(value, field.name);
  });
  return violations.length > 0 ? invalidArgument(violations) : undefined;
}

function tooDeepBinary(schema: DescMessage, bytes: Uint8Array): ConnectError | undefined {
  try {
    fromBinary(schema, bytes);
    return undefined;
  } catch {
    return tooDeepRequest(schema, bytes);
  }
}

/**
 * The INVALID_ARGUMENT for a request body whose message nests too deeply, or
 * undefined when it does not, or when the probe cannot read it (Connect then
 * gives its own protocol error).
 */
export async function probeDeepRequest(schema: DescMessage, header: Headers, body: Uint8Array, readMaxBytes: number): Promise<ConnectError | undefined> {
  const framing = framingOf(header.get("content-type"));
  if (framing === undefined) return undefined;
  const bytes = await messageBytes(framing, header, body, readMaxBytes).catch(() => undefined);
  if (bytes === undefined) return undefined;
  return framing.json ? tooDeepJson(schema, Buffer.from(bytes).toString("utf8")) : tooDeepBinary(schema, bytes);
}

/**
 * A body holding the empty message in the request's own framing, for Connect
 * to decode while the refusal interceptor answers; it drops the headers that
 * described the original body.
 */
export function emptyRequestBody(header: Headers): Uint8Array {
  const framing = framingOf(header.get("content-type"));
  header.delete("content-length");
  if (framing?.enveloped !== true) header.delete("content-encoding");
  const message = Buffer.from(framing?.json ? "{}" : "");
  if (framing?.enveloped !== true) return message;
  const envelope = encodeEnvelope(message);
  return framing.base64 ? Buffer.from(envelope.toString("base64"), "latin1") : envelope;
}

/** The refusal a probed request carries to the interceptor chain. */
export const deepRequestRefusal = createContextKey<ConnectError | undefined>(undefined, { description: "deep request refusal" });

/** Answers a request the probe refused, before any other interceptor looks at its (empty) message. */
export const refuseDeepRequests: Interceptor = (next) => (req) => {
  const refusal = req.contextValues.get(deepRequestRefusal);
  if (refusal !== undefined) throw refusal;
  return next(req);
};

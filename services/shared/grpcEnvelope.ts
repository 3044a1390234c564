// gRPC's length-prefixed message framing, for the unary fast path's server
// (grpcUnary.ts) and client (grpcUnaryTransport.ts): a flags byte (bit 0:
// compressed), a 4-byte big-endian length, then the message.
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

export const envelopeHeaderBytes = 5;
export const compressedFlag = 0b1;

export function encodeEnvelope(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(envelopeHeaderBytes + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, envelopeHeaderBytes);
  return framed;
}

/** Where the first message of `body` ends, or undefined when its header or bytes are incomplete. */
export function envelopeEnd(body: Buffer): number | undefined {
  if (body.length < envelopeHeaderBytes) return undefined;
  const end = envelopeHeaderBytes + body.readUInt32BE(1);
  return end > body.length ? undefined : end;
}

/** The message framed in `body[envelopeHeaderBytes, end)`; a malformed one fails as Connect's parse error does. */
export function parseEnvelopedMessage<M extends DescMessage>(schema: M, body: Buffer, end: number): MessageShape<M> {
  try {
    return fromBinary(schema, body.subarray(envelopeHeaderBytes, end));
  } catch (err) {
    throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.Internal);
  }
}

// gRPC's length-prefixed message framing, for the unary fast path's server
// (grpcUnary.ts) and client (grpcUnaryTransport.ts): a flags byte (bit 0:
// compressed), a 4-byte big-endian length, then the message.
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

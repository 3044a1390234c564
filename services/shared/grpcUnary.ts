// Unary gRPC calls in binary protobuf without compression over HTTP/2 (what
// every call inside the mesh is), served without Connect's streaming pipeline:
// connect-node's gRPC handler runs a unary call through the same async-iterable
// stages as a stream, ~0.5 ms of CPU per call, more than most of our handlers
// cost. The call runs through the same interceptors and implementation as in
// Connect and answers with the same status trailers; anything else (streams,
// gRPC-Web, JSON, compression, HTTP/1.1) is left to Connect.
import { toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { onClientGone } from "./clientGone.js";
import { compressedFlag, encodeEnvelope, envelopeEnd, envelopeHeaderBytes, parseEnvelopedMessage } from "./grpcEnvelope.js";
import { HeaderMap, outgoingHeaders } from "./headerMap.js";
import type { Implementation } from "./implementation.js";
import { invokeUnary, type UnaryImpl } from "./invokeUnary.js";
import type { AnyRequest, AnyResponse } from "./server.js";
import { tooDeepRequest } from "./tooDeepRequest.js";

export interface GrpcUnaryOptions {
  implementations: Implementation[];
  /** The interceptors Connect runs, in the same order. */
  interceptors: Interceptor[];
  /** Largest request message, as Connect's readMaxBytes. */
  readMaxBytes: number;
}

interface Target {
  method: DescMethodUnary;
  impl: UnaryImpl<DescMessage, DescMessage>;
}

const contentType = "application/grpc+proto";

/** Returns a handler that takes the calls it serves and returns false for the rest. */
export function createGrpcUnaryHandler(options: GrpcUnaryOptions): (req: AnyRequest, res: AnyResponse) => boolean {
  const targets = new Map<string, Target>();
  for (const { service, impl } of options.implementations) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      const fn = impl[method.localName];
      if (typeof fn !== "function") continue;
      targets.set(`/${service.typeName}/${method.name}`, { method: method as DescMethodUnary, impl: (fn as UnaryImpl<DescMessage, DescMessage>).bind(impl) });
    }
  }

  return (req, res) => {
    if (req.httpVersionMajor !== 2 || req.method !== "POST") return false;
    const type = req.headers["content-type"];
    if (type !== "application/grpc" && type !== contentType) return false;
    const encoding = req.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const target = targets.get(req.url ?? "");
    if (target === undefined) return false;
    void serveCall(req as Http2ServerRequest, res as Http2ServerResponse, target, options);
    return true;
  };
}

async function serveCall(req: Http2ServerRequest, res: Http2ServerResponse, target: Target, options: GrpcUnaryOptions): Promise<void> {
  // What the interceptors and the implementation set goes out on failure too, as in Connect's handler.
  const header = new HeaderMap();
  const trailer = new HeaderMap();
  let output: Uint8Array | undefined;
  try {
    const timeoutHeader = req.headers["grpc-timeout"];
    const timeout = parseTimeout(typeof timeoutHeader === "string" ? timeoutHeader : null, Number.MAX_SAFE_INTEGER);
    if (timeout.error) throw timeout.error;
    const input = decodeRequest(target.method.input, await readBody(req, options.readMaxBytes));
    const result = await invokeUnary(target.method, target.impl, options.interceptors, input, {
      protocolName: "grpc",
      requestMethod: "POST",
      url: req.url,
      requestHeader: HeaderMap.fromIncoming(req.headers),
      timeoutMs: timeout.timeoutMs,
      onAbortable: (abort) => onClientGone(res, () => abort(new ConnectError("the client cancelled the call", Code.Canceled))),
      responseHeader: header,
      responseTrailer: trailer,
    });
    // An interceptor may answer with headers of its own rather than the context's.
    if (result.header !== header) result.header.forEach((value, key) => header.set(key, value));
    if (result.trailer !== trailer) result.trailer.forEach((value, key) => trailer.append(key, value));
    output = toBinary(target.method.output, result.message);
    setTrailerStatus(trailer, undefined);
  } catch (err) {
    setTrailerStatus(trailer, err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err));
  }
  if (res.stream.destroyed) return;
  res.writeHead(200, { ...outgoingHeaders(header), "content-type": contentType });
  res.addTrailers(outgoingHeaders(trailer));
  if (output === undefined) res.end();
  else res.end(encodeEnvelope(output));
}

async function readBody(req: Http2ServerRequest, readMaxBytes: number): Promise<Buffer> {
  const limit = readMaxBytes + envelopeHeaderBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ConnectError(`message size is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The one message of a unary request, with Connect's errors for everything else but a message nested too deeply. */
function decodeRequest<I extends DescMessage>(schema: I, body: Buffer) {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  const end = envelopeEnd(body);
  if (end === undefined) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body[0]! & compressedFlag) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  if (end < body.length) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  try {
    return parseEnvelopedMessage(schema, body, end);
  } catch (err) {
    throw tooDeepRequest(schema, body.subarray(envelopeHeaderBytes, end)) ?? err;
  }
}

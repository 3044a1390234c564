// Clients for calls inside the mesh: gRPC over one kept-alive HTTP/2
// connection, with the internal token, its trace context (when tracing is on)
// and a deadline; a call made while serving a request carries that request's
// id when the handler passes causedBy(ctx.requestHeader).
// Unary calls take the fast path of grpcUnaryTransport.ts.
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import net from "node:net";
import tls from "node:tls";
import { createGrpcUnaryTransport } from "./grpcUnaryTransport.js";
import { requestIdHeader, requestIdOf } from "./requestId.js";
import { rpcClientSpans } from "./tracing.js";

export interface InternalClientOptions {
  baseUrl: string;
  internalToken: string;
  /** Deadline per call unless the caller sets its own. */
  timeoutMs?: number;
}

// With several calls in flight on one connection, Nagle holds a call's frames
// until the peer ACKs earlier ones, and the peer delays its ACK (~40 ms).
function connectWithoutNagle(authority: URL): net.Socket {
  const host = authority.hostname;
  const socket =
    authority.protocol === "https:"
      ? tls.connect({ host, port: Number(authority.port || 443), servername: host, ALPNProtocols: ["h2"] })
      : net.connect({ host, port: Number(authority.port || 80) });
  return socket.setNoDelay(true);
}

/** Options for an internal call made while serving the request with these headers: its id travels along, beside `headers`. */
export function causedBy(requestHeader: Headers, headers: Record<string, string> = {}): CallOptions {
  const id = requestIdOf(requestHeader);
  return { headers: id === undefined ? headers : { ...headers, [requestIdHeader]: id } };
}

export function createInternalClient<S extends DescService>(service: S, options: InternalClientOptions): Client<S> {
  const authenticate: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${options.internalToken}`);
    return next(req);
  };
  const interceptors = [authenticate, ...rpcClientSpans(options.baseUrl)];
  const defaultTimeoutMs = options.timeoutMs ?? 5000;
  // One connection for unary calls and streams alike.
  const sessions = new Http2SessionManager(options.baseUrl, { pingIntervalMs: 10_000, idleConnectionTimeoutMs: 60_000 }, { createConnection: connectWithoutNagle });
  const streams = createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors,
    defaultTimeoutMs,
    sessionManager: sessions,
    // Inside the mesh compressing replies costs more CPU than the bytes it saves.
    acceptCompression: [],
  });
  return createClient(service, createGrpcUnaryTransport({ baseUrl: options.baseUrl, sessions, interceptors, defaultTimeoutMs, streams }));
}

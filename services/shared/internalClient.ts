// Clients for calls inside the mesh: gRPC over one kept-alive HTTP/2
// connection, with the internal token, the caller's request id and a deadline.
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { currentRequestId, requestIdHeader } from "./requestId.js";

export interface InternalClientOptions {
  baseUrl: string;
  internalToken: string;
  /** Deadline per call unless the caller sets its own. */
  timeoutMs?: number;
}

export function createInternalClient<S extends DescService>(service: S, options: InternalClientOptions): Client<S> {
  const authenticate: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${options.internalToken}`);
    return next(req);
  };
  const forwardRequestId: Interceptor = (next) => (req) => {
    const id = currentRequestId();
    if (id !== undefined && !req.header.has(requestIdHeader)) req.header.set(requestIdHeader, id);
    return next(req);
  };
  const transport = createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors: [authenticate, forwardRequestId],
    defaultTimeoutMs: options.timeoutMs ?? 5000,
    pingIntervalMs: 10_000,
    idleConnectionTimeoutMs: 60_000,
  });
  return createClient(service, transport);
}

// Clients for calls inside the mesh: gRPC over one kept-alive HTTP/2
// connection, with the internal token, the caller's request id and a deadline.
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

export const requestIdHeader = "x-request-id";

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
  const transport = createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors: [authenticate],
    defaultTimeoutMs: options.timeoutMs ?? 5000,
    pingIntervalMs: 10_000,
    idleConnectionTimeoutMs: 60_000,
  });
  return createClient(service, transport);
}

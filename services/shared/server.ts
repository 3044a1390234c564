// The one bootstrap every process uses: Connect, gRPC and gRPC-Web on one port
// for HTTP/1.1 and cleartext HTTP/2 alike, plus health, reflection, /metrics,
// /healthz, /readyz and a graceful SIGTERM.
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type stream from "node:stream";
import type { MeshConfig } from "./config.js";
import { meshRegistry } from "./descriptors.js";
import { createGrpcUnaryHandler } from "./grpcUnary.js";
import { HealthRegistry, ServingStatus } from "./health.js";
import type { Implementation } from "./implementation.js";
import type { Logger } from "./logger.js";
import type { ProcessMetrics } from "./metrics.js";
import { registerReflection } from "./reflection.js";
import { meshError } from "./errors.js";
import { acceptRequestId, requestIdHeader, withRequestId } from "./requestId.js";
import { errorResponse } from "./transcoding/errorResponse.js";

export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface ServeOptions {
  /** Process name in logs and metrics, e.g. "gateway" or "webhook-worker". */
  processName: string;
  config: Pick<MeshConfig, "host" | "port" | "maxBodyBytes">;
  logger: Logger;
  metrics: ProcessMetrics;
  /** The onering services this process implements (health and reflection list them). */
  implementations: Implementation[];
  interceptors?: Interceptor[];
  /** Handles a plain HTTP request before Connect sees it (the request id is already set); returns false to pass it on. */
  httpHandler?: (req: AnyRequest, res: AnyResponse) => boolean;
  /** Whether the process can take traffic now (for /readyz and Health). */
  readiness?: () => boolean | Promise<boolean>;
  /** Stops taking work and finishes or hands back in-flight work. */
  onShutdown?: () => Promise<void>;
}

export interface RunningServer {
  port: number;
  health: HealthRegistry;
  /** Graceful stop: not serving, no new connections, drain, then onShutdown. */
  close(): Promise<void>;
}

// Every HTTP/2 connection starts with this preface; HTTP/1.1 never does.
const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

// A request Node's HTTP/1 parser cannot read still gets the contract's error
// shape and a request id, then the connection closes (its framing is lost).
function answerUnparsable(err: NodeJS.ErrnoException, socket: stream.Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
  const id = acceptRequestId(undefined);
  const error = tooLarge ? meshError("PAYLOAD_TOO_LARGE", "request headers too large") : meshError("INVALID_ARGUMENT", "malformed HTTP request");
  const body = JSON.stringify(errorResponse(error, id).body);
  socket.end(
    `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\nconnection: close\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${requestIdHeader}: ${id}\r\n\r\n${body}`,
  );
}

function sendJson(res: AnyResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { logger, metrics } = options;
  const serviceNames = options.implementations.map((i) => i.service.typeName);
  const health = new HealthRegistry(serviceNames);
  const allServices = [...serviceNames, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];
  const ready = async () => (options.readiness ? await options.readiness() : true);

  const implementations = [health.implementation(), ...options.implementations];
  const interceptors = [metrics.interceptor(), ...(options.interceptors ?? [])];
  const connect = connectNodeAdapter({
    readMaxBytes: options.config.maxBodyBytes,
    interceptors,
    routes: (router) => {
      for (const { service, impl } of implementations) router.service(service, impl);
      registerReflection(router, meshRegistry, allServices);
    },
  });
  const grpcUnary = createGrpcUnaryHandler({ implementations, interceptors, readMaxBytes: options.config.maxBodyBytes });

  // Every response carries the request id; the header is rewritten so that
  // interceptors and handlers further in read the accepted id, not the raw one.
  const handler = (req: AnyRequest, res: AnyResponse) => {
    const requestId = acceptRequestId(req.headers[requestIdHeader]);
    req.headers[requestIdHeader] = requestId;
    res.setHeader(requestIdHeader, requestId);
    withRequestId(requestId, () => route(req, res));
  };

  const route = (req: AnyRequest, res: AnyResponse) => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      void ready().then(
        (ok) => sendJson(res, ok ? 200 : 503, { status: ok ? "ready" : "not ready" }),
        () => sendJson(res, 503, { status: "not ready" }),
      );
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      });
      return;
    }
    if (grpcUnary(req, res) || options.httpHandler?.(req, res)) return;
    connect(req as never, res as never);
  };

  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  h1.on("clientError", (err: NodeJS.ErrnoException, socket: stream.Duplex) => answerUnparsable(err, socket));
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  h2.on("session", (session) => {
    session.on("error", (err) => logger.debug({ err }, "http2 session error"));
  });

  // Peek at the first bytes of each connection and hand it to the server that speaks its protocol.
  // The peeked bytes go back with unshift: both parsers take what is buffered on the socket before
  // reading its handle, so HTTP/2 keeps the native socket (a wrapper stream cost ~1 ms of CPU per call).
  // No Nagle: small gRPC replies would otherwise wait for the peer's delayed ACK (~40 ms).
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, h2Preface.length);
      const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
      if (isH2 && head.length < h2Preface.length) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      if (isH2) return void h2.emit("connection", socket);
      h1.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.config.port, options.config.host, () => resolve());
  });
  const port = (tcp.address() as net.AddressInfo).port;
  health.setAll((await ready()) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  logger.info({ port, services: serviceNames }, `${options.processName} listening`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info("shutting down");
      health.setAll(ServingStatus.NOT_SERVING);
      tcp.close();
      h1.closeIdleConnections();
      await options.onShutdown?.();
      await new Promise((r) => setTimeout(r, 100));
      for (const socket of sockets) socket.destroy();
      logger.info("stopped");
    })());
  return { port, health, close };
}

/** Closes the server on SIGTERM or SIGINT, then exits. */
export function exitOnSignal(server: RunningServer, logger: Logger): void {
  const stop = (signal: string) => {
    logger.info({ signal }, "signal received");
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

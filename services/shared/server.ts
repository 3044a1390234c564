// The one bootstrap every process uses: Connect, gRPC and gRPC-Web on one port
// for HTTP/1.1 and cleartext HTTP/2 alike, plus health, reflection, /metrics,
// /healthz, /readyz, bounds on slow and idle clients, and a graceful SIGTERM.
import type { Interceptor } from "@connectrpc/connect";
import type http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type stream from "node:stream";
import { Counter } from "prom-client";
import { defaultServerSettings, type MeshConfig, type ServerSettings } from "./config.js";
import { createConnectAdapter } from "./connectAdapter.js";
import { ConnectionDrain } from "./connectionDrain.js";
import { refuseDeepRequests } from "./deepRequestProbe.js";
import { meshRegistry } from "./descriptors.js";
import { createGrpcUnaryHandler } from "./grpcUnary.js";
import { HealthRegistry, ServingStatus } from "./health.js";
import type { Implementation } from "./implementation.js";
import type { Logger } from "./logger.js";
import type { ProcessMetrics } from "./metrics.js";
import { listenForMetrics, metricsResponder } from "./metricsEndpoint.js";
import { ProtocolSniffer } from "./protocolSniffer.js";
import { registerReflection } from "./reflection.js";
import { meshError } from "./errors.js";
import { acceptRequestId, requestIdHeader } from "./requestId.js";
import { closeTimedOut, closeWhenIdle, createHttp1Server } from "./slowClients.js";
import { errorResponse } from "./transcoding/errorResponse.js";
import { rpcServerSpans, traceRequests } from "./tracing.js";

export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface ServeOptions {
  /** Process name in logs and metrics, e.g. "gateway" or "webhook-worker". */
  processName: string;
  /** `server` settings left out take the contract's defaults. */
  config: Pick<MeshConfig, "host" | "port" | "maxBodyBytes"> & { server?: Partial<ServerSettings> };
  logger: Logger;
  metrics: ProcessMetrics;
  /** The onering services this process implements (health and reflection list them). */
  implementations: Implementation[];
  interceptors?: Interceptor[];
  /**
   * Handles a plain HTTP request before Connect sees it; returns false to pass
   * it on. It writes X-Request-Id itself, with its other headers in one go:
   * `requestId` is the id serve() accepted (also in `req.headers`).
   */
  httpHandler?: (req: AnyRequest, res: AnyResponse, requestId: string) => boolean;
  /** Whether the process can take traffic now (for /readyz and Health). */
  readiness?: () => boolean | Promise<boolean>;
  /** Stops taking work and finishes or hands back in-flight work; runs once the connections have drained. */
  onShutdown?: () => Promise<void>;
  /** Makes /metrics on the main port answer only this bearer key (the gateway's port is public). */
  metricsKey?: string;
}

export interface RunningServer {
  port: number;
  /** The port serving only /metrics, when one was asked for. */
  metricsPort: number | undefined;
  health: HealthRegistry;
  /** How long close() lets in-flight requests run before cutting them. */
  shutdownGraceMs: number;
  /** Graceful stop: not ready, no new connections, GOAWAY, drain, then onShutdown. */
  close(): Promise<void>;
}

// A request Node's HTTP/1 parser cannot read still gets the contract's error
// shape and a request id, then the connection closes (its framing is lost).
// One whose head did not arrive within the headers timeout gets a 408.
function answerUnparsable(err: NodeJS.ErrnoException, socket: stream.Duplex): void {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return closeTimedOut(socket);
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

/**
 * The interceptors every call of a process runs, outermost first: its span
 * (when tracing is on), its metrics, then the process's own. A REST
 * transcoder in front of the same services takes these too.
 */
export function serverInterceptors(metrics: ProcessMetrics, interceptors: Interceptor[] = []): Interceptor[] {
  return [...rpcServerSpans(), metrics.interceptor(), ...interceptors];
}

function sendJson(res: AnyResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { logger, metrics } = options;
  const settings: ServerSettings = { ...defaultServerSettings, ...options.config.server };
  const serviceNames = options.implementations.map((i) => i.service.typeName);
  const health = new HealthRegistry(serviceNames);
  const allServices = [...serviceNames, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];
  // Readiness fails from the moment shutdown starts, whatever the process reports.
  const ready = async () => !drain.isDraining && (options.readiness ? await options.readiness() : true);
  const serveMetrics = metricsResponder(metrics.registry, options.metricsKey);

  const implementations = [health.implementation(), ...options.implementations];
  // A request refused for nesting too deeply is answered before auth and validation see its stand-in empty message.
  const interceptors = [...serverInterceptors(metrics), refuseDeepRequests, ...(options.interceptors ?? [])];
  const connect = createConnectAdapter({
    readMaxBytes: options.config.maxBodyBytes,
    interceptors,
    logger,
    routes: (router) => {
      for (const { service, impl } of implementations) router.service(service, impl);
      registerReflection(router, meshRegistry, allServices);
    },
  });
  const grpcUnary = createGrpcUnaryHandler({ implementations, interceptors, readMaxBytes: options.config.maxBodyBytes });

  // Every response carries the request id; the header is rewritten so that
  // interceptors and handlers further in read the accepted id, not the raw one.
  const handler = (req: AnyRequest, res: AnyResponse) => {
    if (req.httpVersionMajor === 1) drain.addResponse(res as http.ServerResponse);
    req.headers[requestIdHeader] = acceptRequestId(req.headers[requestIdHeader]);
    traced(req, res);
  };

  const route = (req: AnyRequest, res: AnyResponse) => {
    if (req.method === "GET") {
      const url = req.url ?? "/";
      const queryAt = url.indexOf("?");
      const own = ownGetRoutes.get(queryAt < 0 ? url : url.slice(0, queryAt));
      if (own !== undefined) {
        res.setHeader(requestIdHeader, req.headers[requestIdHeader]!);
        return own(req, res);
      }
    }
    if (options.httpHandler?.(req, res, req.headers[requestIdHeader] as string)) return;
    res.setHeader(requestIdHeader, req.headers[requestIdHeader]!);
    if (grpcUnary(req, res)) return;
    connect(req, res);
  };
  const ownGetRoutes = new Map<string, (req: AnyRequest, res: AnyResponse) => void>([
    ["/healthz", (_req, res) => sendJson(res, 200, { status: "ok" })],
    [
      "/readyz",
      (_req, res) =>
        void ready().then(
          (ok) => sendJson(res, ok ? 200 : 503, { status: ok ? "ready" : "not ready" }),
          () => sendJson(res, 503, { status: "not ready" }),
        ),
    ],
    ["/metrics", serveMetrics],
  ]);
  // One span per request when tracing is on; `route` itself when it is off.
  const traced = traceRequests(route);

  const h1 = createHttp1Server(settings.headersTimeoutMs, handler);
  h1.on("clientError", (err: NodeJS.ErrnoException, socket: stream.Duplex) => answerUnparsable(err, socket));
  const h2 = http2.createServer({}, handler);
  const drain = new ConnectionDrain(h1);
  h2.on("session", (session) => {
    session.on("error", (err) => logger.debug({ err }, "http2 session error"));
    closeWhenIdle(session);
    drain.addSession(session);
  });
  const sniffer = new ProtocolSniffer({
    headersTimeoutMs: settings.headersTimeoutMs,
    http1: (socket) => h1.emit("connection", socket),
    http2: (socket) => h2.emit("connection", socket),
  });

  // No Nagle: small gRPC replies would otherwise wait for the peer's delayed ACK (~40 ms).
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    drain.addSocket(socket);
    socket.on("error", () => socket.destroy());
    sniffer.sniff(socket);
  });
  // Beyond the cap Node closes a new connection as soon as it is accepted.
  tcp.maxConnections = settings.maxConnections;
  const refused = new Counter({
    name: "onering_connections_refused_total",
    help: "Connections closed on arrival because ONERING_MAX_CONNECTIONS were open.",
    registers: [metrics.registry],
  });
  tcp.on("drop", () => refused.inc());

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.config.port, options.config.host, () => resolve());
  });
  const port = (tcp.address() as net.AddressInfo).port;
  const metricsListener =
    settings.metricsPort === undefined
      ? undefined
      : await listenForMetrics({ host: options.config.host, port: settings.metricsPort, headersTimeoutMs: settings.headersTimeoutMs, registry: metrics.registry });
  health.setAll((await ready()) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  logger.info({ port, metricsPort: metricsListener?.port, services: serviceNames }, `${options.processName} listening`);

  const shutdownGraceMs = settings.shutdownGraceSeconds * 1000;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info("shutting down");
      const deadline = Date.now() + shutdownGraceMs;
      health.setAll(ServingStatus.NOT_SERVING);
      health.endWatches();
      tcp.close();
      sniffer.closePending();
      if (!(await drain.drain(deadline))) logger.warn({ open: drain.open }, "shutdown grace ended with requests in flight; closing them");
      drain.destroyAll();
      await options.onShutdown?.();
      // Last, so the scraper sees the drain.
      await metricsListener?.close();
      logger.info("stopped");
    })());
  return { port, metricsPort: metricsListener?.port, health, shutdownGraceMs, close };
}

// How long onShutdown may take after a drain that used the whole grace; with the
// default grace (20 s) the process is gone within Kubernetes' 30 s.
const onShutdownAllowanceMs = 5_000;

/** Closes the server on SIGTERM or SIGINT, then exits. */
export function exitOnSignal(server: RunningServer, logger: Logger): void {
  const stop = (signal: string) => {
    logger.info({ signal }, "signal received");
    const force = setTimeout(() => {
      logger.error("shutdown overran its grace; exiting");
      process.exit(1);
    }, server.shutdownGraceMs + onShutdownAllowanceMs);
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

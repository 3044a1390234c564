// OpenTelemetry tracing of every process, configured by the standard OTEL_*
// variables (exporter endpoint, service name, sampler, batch delays). With no
// OTLP endpoint it stays off: nothing is registered, and every hook here is
// chosen once at start-up, so a request then makes no span objects at all.
// W3C trace context is what crosses processes: HTTP and gRPC headers, NATS
// message headers, and a delivery's row in Postgres (as one traceparent).
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span, type TextMapGetter, type TextMapSetter, type Tracer } from "@opentelemetry/api";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http";
import { tracingEnabledIn } from "./config.js";
import { reasonOf } from "./errors.js";

let tracer: Tracer | undefined;

/**
 * Starts tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, naming the process `processName` unless OTEL_SERVICE_NAME says
 * otherwise. Returns what flushes and stops it, or nothing when it is off.
 */
export async function startTracing(processName: string): Promise<(() => Promise<void>) | undefined> {
  if (!tracingEnabledIn(process.env)) return undefined;
  // Loaded only when on: a process without tracing does not pay for the SDK at start-up.
  const [{ W3CTraceContextPropagator }, { OTLPTraceExporter }, { defaultResource, detectResources, envDetector, resourceFromAttributes }, { BatchSpanProcessor, NodeTracerProvider }, { ATTR_SERVICE_NAME }] =
    await Promise.all([
      import("@opentelemetry/core"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/semantic-conventions"),
    ]);
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: `onering-${processName}` }))
    .merge(detectResources({ detectors: [envDetector] }));
  // The exporter and the batch processor read their OTEL_* variables themselves.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  tracer = trace.getTracer("onering");
  return () => provider.shutdown();
}

/** Whether spans are recorded; hooks check this once when they are built. */
export function tracingEnabled(): boolean {
  return tracer !== undefined;
}

/** The tracer, for the modules that add spans of their own; only called when tracing is on. */
export function meshTracer(): Tracer {
  if (tracer === undefined) throw new Error("tracing is off");
  return tracer;
}

/** trace_id and span_id of the current span, for log lines; undefined outside a trace or with tracing off. */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (tracer === undefined) return undefined;
  const span = trace.getSpan(context.active());
  if (span === undefined) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

const incomingGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Carriers with get/set, such as NATS message headers. */
export interface HeaderCarrier {
  get(key: string): string;
  set(key: string, value: string): void;
}

const carrierGetter: TextMapGetter<HeaderCarrier> = { keys: () => ["traceparent", "tracestate"], get: (carrier, key) => carrier.get(key) || undefined };
const carrierSetter: TextMapSetter<HeaderCarrier> = { set: (carrier, key, value) => carrier.set(key, value) };

const recordTraceParent: TextMapSetter<{ traceparent?: string }> = {
  set: (carrier, key, value) => {
    if (key === "traceparent") carrier.traceparent = value;
  },
};
const readTraceParent: TextMapGetter<string> = { keys: () => ["traceparent"], get: (carrier, key) => (key === "traceparent" ? carrier : undefined) };

/** The current span as a W3C traceparent (to store with work done later), or undefined. */
export function currentTraceParent(ctx: Context = context.active()): string | undefined {
  if (tracer === undefined || trace.getSpan(ctx) === undefined) return undefined;
  const carrier: { traceparent?: string } = {};
  propagation.inject(ctx, carrier, recordTraceParent);
  return carrier.traceparent;
}

/** The context a stored traceparent names (the root context when there is none). */
export function contextOfTraceParent(traceParent: string | null | undefined): Context {
  return traceParent ? propagation.extract(ROOT_CONTEXT, traceParent, readTraceParent) : ROOT_CONTEXT;
}

/** Writes `ctx`'s trace context into message headers. */
export function injectTraceContext(ctx: Context, carrier: HeaderCarrier): void {
  propagation.inject(ctx, carrier, carrierSetter);
}

/** The trace context message headers carry (the root context when none). */
export function extractTraceContext(carrier: HeaderCarrier | undefined): Context {
  return carrier === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, carrier, carrierGetter);
}

/**
 * The parent of work resumed from a stored trace context: the current span if
 * there is one (e.g. the replay request that queued it again), linked to the
 * stored one when they are different traces; otherwise the stored one.
 */
export function resumedParent(stored: string | null | undefined): { parent: Context; links: Link[] } {
  const active = context.active();
  const current = trace.getSpan(active)?.spanContext();
  const origin = trace.getSpanContext(contextOfTraceParent(stored));
  if (current === undefined) return { parent: contextOfTraceParent(stored), links: [] };
  return { parent: active, links: origin !== undefined && origin.traceId !== current.traceId ? [{ context: origin }] : [] };
}

/** Probes (HTTP and grpc.health.v1, as Kubernetes sends them) and scrapes: not requests worth a trace. */
const untracedPaths = new Set(["/healthz", "/readyz", "/metrics"]);
const healthService = "/grpc.health.v1.Health/";
const untraced = (path: string) => untracedPaths.has(path) || path.startsWith(healthService);

interface TracedRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}
interface TracedResponse {
  statusCode: number;
  once(event: "close", listener: () => void): unknown;
}

/**
 * Wraps serve()'s request router: one SERVER span per request, a child of the
 * caller's `traceparent` if it sent one, current while the request is served
 * (the RPC interceptor below names it after the method). Returns `route`
 * itself when tracing is off.
 */
export function traceRequests<Req extends TracedRequest, Res extends TracedResponse>(route: (req: Req, res: Res) => void): (req: Req, res: Res) => void {
  const t = tracer;
  if (t === undefined) return route;
  return (req, res) => {
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (untraced(path)) return route(req, res);
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, incomingGetter);
    const method = req.method ?? "GET";
    const span = t.startSpan(method, { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": path } }, parent);
    res.once("close", () => {
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => route(req, res));
  };
}

// Codes that are the server's fault, per the RPC semantic conventions; the rest are the caller's.
const serverFaults = new Set([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

function rpcSystem(header: Headers): string {
  return header.get("content-type")?.startsWith("application/grpc") ? "grpc" : "connect_rpc";
}

function recordRpcError(span: Span, err: unknown, faults: (code: Code) => boolean): void {
  const error = ConnectError.from(err);
  span.setAttribute("rpc.grpc.status_code", error.code);
  const reason = reasonOf(error);
  if (reason) span.setAttribute("onering.error.reason", reason);
  if (faults(error.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
}

/**
 * Names the request's SERVER span after the RPC (REST, Connect, gRPC and
 * gRPC-Web alike) and records its status; none when tracing is off.
 */
export function rpcServerSpans(): Interceptor[] {
  if (tracer === undefined) return [];
  const interceptor: Interceptor = (next) => async (req) => {
    const span = trace.getSpan(context.active());
    if (span === undefined) return next(req);
    span.updateName(`${req.service.typeName}/${req.method.name}`);
    span.setAttributes({ "rpc.system": rpcSystem(req.header), "rpc.service": req.service.typeName, "rpc.method": req.method.name });
    try {
      const res = await next(req);
      span.setAttribute("rpc.grpc.status_code", 0);
      return res;
    } catch (err) {
      recordRpcError(span, err, (code) => serverFaults.has(code));
      throw err;
    }
  };
  return [interceptor];
}

/**
 * A CLIENT span per unary internal call made inside a trace, its context sent
 * as `traceparent`; calls outside any trace (background leases) make none.
 * None when tracing is off.
 */
export function rpcClientSpans(baseUrl: string): Interceptor[] {
  const t = tracer;
  if (t === undefined) return [];
  const server = new URL(baseUrl);
  const peer = { "server.address": server.hostname, "server.port": Number(server.port || (server.protocol === "https:" ? 443 : 80)) };
  const interceptor: Interceptor = (next) => async (req) => {
    const active = context.active();
    if (trace.getSpan(active) === undefined) return next(req);
    if (req.stream) {
      propagation.inject(active, req.header, headersSetter);
      return next(req);
    }
    const span = t.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name, ...peer } },
      active,
    );
    const ctx = trace.setSpan(active, span);
    propagation.inject(ctx, req.header, headersSetter);
    try {
      const res = await context.with(ctx, () => next(req));
      span.setAttribute("rpc.grpc.status_code", 0);
      return res;
    } catch (err) {
      recordRpcError(span, err, () => true);
      throw err;
    } finally {
      span.end();
    }
  };
  return [interceptor];
}

// The tracing module on its own: off without an endpoint (no hooks at all),
// a bad endpoint named at start-up, and, once on, the W3C traceparent stored
// with a delivery bringing its trace back (as parent, or as a link when the
// work resumes inside another trace).
import { context, trace } from "@opentelemetry/api";
import { EventEmitter } from "node:events";
import { afterAll, expect, it } from "vitest";
import { ConfigError, tracingEnabledIn } from "../../services/shared/config.js";
import { SpanKind, startOtlpReceiver, type OtlpReceiver } from "../harness/otlpReceiver.js";
import {
  contextOfTraceParent,
  currentTraceIds,
  currentTraceParent,
  meshTracer,
  resumedParent,
  rpcClientSpans,
  rpcServerSpans,
  startTracing,
  traceRequests,
  tracingEnabled,
} from "../../services/shared/tracing.js";

let stop: (() => Promise<void>) | undefined;
let otlp: OtlpReceiver | undefined;
afterAll(async () => {
  await stop?.();
  await otlp?.close();
});

it("is on only with an http(s) OTLP endpoint, and names the variable when it is not a URL", () => {
  expect(tracingEnabledIn({})).toBe(false);
  expect(tracingEnabledIn({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBe(false);
  expect(tracingEnabledIn({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
  for (const bad of ["collector:4318:x", "ftp://collector"]) {
    expect(() => tracingEnabledIn({ OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toThrow(ConfigError);
    expect(() => tracingEnabledIn({ OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  }
});

it("adds nothing to a request when off", async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  expect(await startTracing("test")).toBeUndefined();
  expect(tracingEnabled()).toBe(false);
  const route = () => undefined;
  expect(traceRequests(route)).toBe(route);
  expect(rpcServerSpans()).toEqual([]);
  expect(rpcClientSpans("http://127.0.0.1:1")).toEqual([]);
  expect(currentTraceParent()).toBeUndefined();
  expect(currentTraceIds()).toBeUndefined();
});

it("carries a stored traceparent back as the parent, or as a link inside another trace", async () => {
  otlp = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
  stop = await startTracing("test");
  expect(tracingEnabled()).toBe(true);
  const publish = meshTracer().startSpan("publish");
  const stored = context.with(trace.setSpan(context.active(), publish), () => currentTraceParent())!;
  expect(stored).toBe(`00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`);
  expect(trace.getSpanContext(contextOfTraceParent(stored))).toMatchObject({ traceId: publish.spanContext().traceId, spanId: publish.spanContext().spanId });

  // The scheduler, outside any trace: the stored one is the parent.
  const scheduled = resumedParent(stored);
  expect(trace.getSpanContext(scheduled.parent)?.spanId).toBe(publish.spanContext().spanId);
  expect(scheduled.links).toEqual([]);

  // A replay request: its own span is the parent, the stored trace a link.
  const replay = meshTracer().startSpan("replay");
  const replayed = context.with(trace.setSpan(context.active(), replay), () => {
    expect(currentTraceIds()).toEqual({ trace_id: replay.spanContext().traceId, span_id: replay.spanContext().spanId });
    return resumedParent(stored);
  });
  expect(trace.getSpanContext(replayed.parent)?.spanId).toBe(replay.spanContext().spanId);
  expect(replayed.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
  expect(contextOfTraceParent("garbage")).toBe(contextOfTraceParent(undefined));
});

it("traces a request from its arrival to its response's close, but not probes or scrapes", async () => {
  const traced = traceRequests((_req: { method: string; url: string; headers: Record<string, string> }, res: EventEmitter & { statusCode: number; span?: ReturnType<typeof trace.getActiveSpan> }) => {
    res.span = trace.getActiveSpan();
  });
  const serve = (url: string, headers: Record<string, string> = {}) => {
    const res = Object.assign(new EventEmitter(), { statusCode: 200, span: undefined as ReturnType<typeof trace.getActiveSpan> });
    traced({ method: "POST", url, headers }, res);
    return res;
  };
  for (const probe of ["/healthz", "/readyz?x=1", "/metrics", "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"]) expect(serve(probe).span, probe).toBeUndefined();

  const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const res = serve("/onering.v1.WebhookService/PublishEvent", { traceparent: caller });
  expect(res.span?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
  expect(res.span?.isRecording()).toBe(true);
  res.emit("close");
  expect(res.span?.isRecording()).toBe(false);
  await stop?.();
  stop = undefined;
  const exported = otlp!.spans.filter((s) => s.kind === SpanKind.server);
  expect(exported).toEqual([expect.objectContaining({ service: "onering-test", traceId: "0af7651916cd43dd8448eb211c80319c", parentSpanId: "b7ad6b7169203331", name: "POST" })]);
  expect(exported[0]!.attributes).toMatchObject({ "url.path": "/onering.v1.WebhookService/PublishEvent", "http.response.status_code": 200 });
});


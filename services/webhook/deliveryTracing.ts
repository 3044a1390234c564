// Spans of a delivery's way through the pipeline, when tracing is on: the
// JetStream publish by the outbox relay (right after the commit) or by the
// scheduler (a retry or parked job now due), the worker's handling of the job,
// and each attempt's POST to the receiver. The trace context rides in the NATS
// message headers and is stored with the delivery, so a retry minutes later
// still joins the event's trace. An attempt's span names the endpoint's host,
// status and attempt number: never the URL's path, the secret or the body.
import type { JsMsg, PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";
import { extractTraceContext, injectTraceContext, meshTracer, resumedParent, tracingEnabled, type HeaderCarrier } from "../shared/tracing.js";
import { jobMessageId, type DeliveryJob } from "./deliveryJobs.js";
import type { AttemptResult } from "./worker/attemptStore.js";
import type { ClaimedDelivery } from "./worker/claimStore.js";

/** Who publishes a job: the relay after the commit, or the scheduler's sweep once it is due. */
export type RelayTrigger = "publish" | "schedule";

export interface RelaySpan {
  span: Span;
  /** Message headers with the span's traceparent. */
  headers: MsgHdrs;
}

/** A PRODUCER span for one job's publish, with the headers that carry it; undefined when tracing is off. */
export function startRelaySpan(job: DeliveryJob, subject: string, trigger: RelayTrigger): RelaySpan | undefined {
  if (!tracingEnabled()) return undefined;
  // The relay runs inside the publishing (or replaying) request; the scheduler, outside any, resumes the stored trace.
  const { parent, links } = resumedParent(job.traceParent);
  const span = meshTracer().startSpan(
    `${trigger} ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        "messaging.system": "nats",
        "messaging.operation.name": trigger,
        "messaging.operation.type": "send",
        "messaging.destination.name": subject,
        "messaging.message.id": jobMessageId(job),
        "onering.delivery.id": job.deliveryId,
        "onering.webhook.id": job.webhookId,
      },
    },
    parent,
  );
  const headers = natsHeaders();
  injectTraceContext(trace.setSpan(parent, span), headers);
  return { span, headers };
}

/**
 * Ends a relay span once JetStream answered: a job the sweep sent again before
 * its first publish was marked is dropped by the duplicate window, and says so.
 */
export function endRelaySpan(relay: RelaySpan, ack: PubAck): void {
  if (ack.duplicate) relay.span.setAttribute("onering.jetstream.duplicate", true);
  relay.span.end();
}

/** Ends a span, as failed when `err` is given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}

/**
 * Runs the worker's handling of one job (claim, attempt, record) inside a
 * CONSUMER span, the child of the publish whose headers the message carries.
 */
export async function traceJob<T>(msg: JsMsg, job: DeliveryJob, handle: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return handle();
  const parent = extractTraceContext(msg.headers);
  const span = meshTracer().startSpan(
    `process ${msg.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "nats",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": msg.subject,
        "messaging.message.id": jobMessageId(job),
        "onering.delivery.id": job.deliveryId,
        "onering.webhook.id": job.webhookId,
      },
    },
    parent,
  );
  return inSpan(trace.setSpan(parent, span), span, handle);
}

async function inSpan<T>(ctx: Context, span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    const result = await context.with(ctx, fn);
    span.end();
    return result;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

class RecordCarrier implements HeaderCarrier {
  readonly values: Record<string, string> = {};
  get(key: string): string {
    return this.values[key] ?? "";
  }
  set(key: string, value: string): void {
    this.values[key] = value;
  }
}

/**
 * Runs one attempt inside a CLIENT span (endpoint host, attempt number,
 * status), hands `send` the traceparent header for the receiver, and stamps
 * the attempt with its trace id. Without tracing, `send` gets no headers.
 */
export async function traceAttempt(delivery: ClaimedDelivery, send: (traceHeaders: Record<string, string> | undefined) => Promise<AttemptResult>): Promise<AttemptResult> {
  if (!tracingEnabled()) return send(undefined);
  const parent = context.active();
  let endpoint: Record<string, string | number> = {};
  try {
    const url = new URL(delivery.url);
    endpoint = { "server.address": url.hostname, "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)), "url.scheme": url.protocol.slice(0, -1) };
  } catch {
    // An invalid URL fails the attempt itself; the span just names no endpoint.
  }
  const span = meshTracer().startSpan(
    "POST",
    {
      kind: SpanKind.CLIENT,
      attributes: { "http.request.method": "POST", ...endpoint, "onering.delivery.id": delivery.id, "onering.webhook.id": delivery.webhookId, "onering.webhook.attempt": delivery.attemptNumber },
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  const carrier = new RecordCarrier();
  injectTraceContext(ctx, carrier);
  const result = await context.with(ctx, () => send(carrier.values));
  const { statusCode, error } = result.attempt;
  result.attempt.traceId = span.spanContext().traceId;
  if (statusCode !== 0) span.setAttribute("http.response.status_code", statusCode);
  if (error) span.setAttribute("error.type", error.split(":")[0]!.slice(0, 64));
  endSpan(span, statusCode >= 200 && statusCode < 300 ? undefined : error || `HTTP ${statusCode}`);
  return result;
}

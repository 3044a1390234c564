// One delivery attempt: POST the payload with Standard Webhooks headers,
// redirects not followed, at most a few KiB of the answer read, the whole
// attempt bounded by the attempt timeout. Never throws: every failure is a
// result to record.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Agent, request } from "undici";
import { DeliveryAttemptSchema } from "../../../gen/onering/v1/webhook_pb.js";
import { parseRetryAfter } from "../retryPolicy.js";
import { signatureHeader } from "../signature.js";
import { guardedLookup, refuseUrl } from "../urlGuard.js";
import type { AttemptResult } from "./attemptStore.js";
import type { ClaimedDelivery } from "./claimStore.js";

export const userAgent = "OneRing-Webhooks/1.0 (+https://onering.dev/webhooks)";
const maxBodyBytes = 4096;

export interface SendOptions {
  timeoutMs: number;
  allowPrivateUrls: boolean;
}

/** A connection pool for one webhook's attempts (deliveryAgents.ts). */
export function createDeliveryAgent(options: SendOptions, connections: number): Agent {
  return new Agent({
    connect: { lookup: guardedLookup(options.allowPrivateUrls), timeout: options.timeoutMs },
    connections,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
}

async function readSome(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= maxBodyBytes) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, maxBodyBytes).toString("utf8");
}

/** `traceHeaders` (traceparent) let a receiver that traces join the delivery's trace. */
export async function sendAttempt(agent: Agent, job: ClaimedDelivery, options: SendOptions, traceHeaders?: Record<string, string>): Promise<AttemptResult> {
  const started = new Date();
  const t0 = performance.now();
  const finish = (fields: { statusCode?: number; error?: string; responseBody?: string; retryAfterMs?: number }): AttemptResult => ({
    deliveryId: job.id,
    retryAfterMs: fields.retryAfterMs ?? 0,
    attempt: create(DeliveryAttemptSchema, {
      number: job.attemptNumber,
      statusCode: fields.statusCode ?? 0,
      error: fields.error ?? "",
      responseBody: fields.responseBody ?? "",
      durationMs: BigInt(Math.round(performance.now() - t0)),
      attemptTime: timestampFromDate(started),
    }),
  });

  let url: URL;
  try {
    url = new URL(job.url);
  } catch {
    return finish({ error: "invalid receiver URL" });
  }
  const refused = refuseUrl(url, options.allowPrivateUrls);
  if (refused) return finish({ error: `receiver URL refused: ${refused}` });

  const timestamp = Math.floor(started.getTime() / 1000);
  try {
    const res = await request(url, {
      method: "POST",
      dispatcher: agent,
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": userAgent,
        "webhook-id": job.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(job.secrets, job.id, timestamp, job.payload),
        ...traceHeaders,
      },
      body: job.payload,
    });
    const responseBody = await readSome(res.body);
    const retryAfter = res.headers["retry-after"];
    const retryAfterMs = res.statusCode === 429 || res.statusCode === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : 0;
    return finish({ statusCode: res.statusCode, responseBody, retryAfterMs });
  } catch (err) {
    const e = err as Error & { code?: string };
    const error = e.name === "TimeoutError" || e.name === "AbortError" ? `timed out after ${options.timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`;
    return finish({ error });
  }
}

// The five smoke-test phases against a live mesh, through the public REST
// surface, each returning a detail line or throwing with the reason.
import { randomUUID } from "node:crypto";
import { PhaseFailure, request, type Reply, type RequestOptions } from "./request.js";
import type { SinkUrls } from "./urls.js";

export interface SmokeOptions {
  /** The gateway's base URL, without a trailing slash. */
  backendUrl: string;
  adminKey: string;
  /** A running webhook sink (npm run sink). */
  webhookSink: SinkUrls;
  /** How long to wait for the delivery to reach the sink. */
  deliveryTimeoutMs: number;
}

export interface SmokeState {
  keyId?: string;
  apiKey?: string;
  webhookId?: string;
  nonce: string;
}

const backend = (o: SmokeOptions, path: string, init?: RequestOptions): Promise<Reply> => request("backend", o.backendUrl, path, init);
const sink = (o: SmokeOptions, path: string, init?: RequestOptions): Promise<Reply> => request("webhook sink", o.webhookSink.origin, path, init);

function expectOk(what: string, res: Reply): void {
  if (res.status >= 200 && res.status < 300) return;
  const reason = typeof res.body.code === "string" ? `${res.body.code}: ${String(res.body.message ?? "")}` : JSON.stringify(res.body).slice(0, 200);
  throw new PhaseFailure(`${what} answered ${res.status} (${reason})`);
}

export const phases: { name: string; run: (o: SmokeOptions, s: SmokeState) => Promise<string> }[] = [
  {
    name: "Backend health",
    async run(o) {
      const live = await backend(o, "/healthz");
      const ready = await backend(o, "/readyz");
      expectOk("GET /healthz", live);
      expectOk("GET /readyz", ready);
      return "gateway live and ready";
    },
  },
  {
    name: "API key creation",
    async run(o, s) {
      const res = await backend(o, `/v1/admin/external/keys`, {
        method: "POST",
        key: o.adminKey,
        body: JSON.stringify({ name: `smoke-${s.nonce.slice(0, 8)}`, tier: "free" }),
      });
      expectOk("POST /v1/admin/external/keys", res);
      const key = res.body.key as { id?: string } | undefined;
      if (!key?.id || typeof res.body.secret !== "string") throw new PhaseFailure("response lacks key.id or secret");
      s.keyId = key.id;
      s.apiKey = res.body.secret;
      return `created ${key.id}`;
    },
  },
  {
    name: "External call with rate-limit headers",
    async run(o, s) {
      if (!s.apiKey) throw new PhaseFailure("no API key (key creation failed)");
      const res = await backend(o, `/v1/external/me`, { key: s.apiKey });
      expectOk("GET /v1/external/me", res);
      const missing = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-canary-mode"].filter((h) => !res.headers.has(h));
      if (missing.length > 0) throw new PhaseFailure(`missing headers: ${missing.join(", ")}`);
      return `limit ${res.headers.get("x-ratelimit-limit")}, remaining ${res.headers.get("x-ratelimit-remaining")}, canary mode ${res.headers.get("x-canary-mode")}`;
    },
  },
  {
    name: "Webhook subscription",
    async run(o, s) {
      if (!s.apiKey) throw new PhaseFailure("no API key (key creation failed)");
      const res = await backend(o, `/v1/external/webhooks`, {
        method: "POST",
        key: s.apiKey,
        body: JSON.stringify({ url: o.webhookSink.receive, event_types: ["smoke.*"], description: "smoke test" }),
      });
      expectOk("POST /v1/external/webhooks", res);
      const webhook = res.body.webhook as { id?: string } | undefined;
      if (!webhook?.id || typeof res.body.secret !== "string") throw new PhaseFailure("response lacks webhook.id or secret");
      s.webhookId = webhook.id;
      const handover = await sink(o, "/secrets", { method: "PUT", body: JSON.stringify({ secrets: [res.body.secret] }) });
      expectOk("PUT sink /secrets", handover);
      return `subscribed ${webhook.id} to smoke.*`;
    },
  },
  {
    name: "Webhook delivery verified at the sink",
    async run(o, s) {
      if (!s.webhookId) throw new PhaseFailure("no subscription (subscription failed)");
      const published = await backend(o, `/v1/admin/events`, {
        method: "POST",
        key: o.adminKey,
        body: JSON.stringify({ type: "smoke.ping", data: { nonce: s.nonce } }),
      });
      expectOk("POST /v1/admin/events", published);
      const deadline = Date.now() + o.deliveryTimeoutMs;
      while (Date.now() < deadline) {
        const log = await sink(o, "/deliveries");
        const deliveries = (log.body.deliveries ?? []) as { id: string; verified: boolean; payload: unknown }[];
        const ours = deliveries.find((d) => JSON.stringify(d.payload).includes(s.nonce));
        if (ours) {
          if (!ours.verified) throw new PhaseFailure("delivery arrived but the sink did not verify its signature");
          return `delivery ${ours.id} arrived with a valid signature`;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new PhaseFailure(`no delivery reached the sink within ${o.deliveryTimeoutMs} ms`);
    },
  },
];

/** Deletes what the run created; never throws. */
export async function cleanUp(o: SmokeOptions, s: SmokeState): Promise<void> {
  if (s.webhookId && s.apiKey) await backend(o, `/v1/external/webhooks/${s.webhookId}`, { method: "DELETE", key: s.apiKey }).catch(() => undefined);
  if (s.keyId) await backend(o, `/v1/admin/external/keys/${s.keyId}`, { method: "DELETE", key: o.adminKey }).catch(() => undefined);
}

export const newState = (): SmokeState => ({ nonce: randomUUID() });

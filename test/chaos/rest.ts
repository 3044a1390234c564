// The gateway's REST API as an outside client sees it, plus the checks every
// fault case makes on an answer: a failure is always the contract's shape.
import { expect } from "vitest";

export interface RestReply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

export async function rest(baseUrl: string, method: string, path: string, options: { key?: string; body?: unknown } = {}): Promise<RestReply> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  let body: Record<string, any>;
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    body = { unparsable: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** Asserts the one REST error shape of DESIGN.md, "Errors"; returns the code. */
export function expectContractError(reply: RestReply): string {
  expect(reply.status, JSON.stringify(reply.body)).toBeGreaterThanOrEqual(400);
  expect(reply.body).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String), recovery: expect.any(String), request_id: expect.any(String) });
  expect(reply.body.request_id).not.toBe("");
  return reply.body.code as string;
}

/** Creates an API key through the admin API; returns its id and one-time secret. */
export async function createKey(baseUrl: string, adminKey: string, fields: { name: string; tier?: string }): Promise<{ id: string; secret: string }> {
  const reply = await rest(baseUrl, "POST", "/v1/admin/external/keys", { key: adminKey, body: fields });
  if (reply.status !== 200) throw new Error(`creating a key failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return { id: reply.body.key.id as string, secret: reply.body.secret as string };
}

/** Subscribes the key to event types at url; returns the webhook id. */
export async function createWebhook(baseUrl: string, key: string, url: string, eventTypes: string[]): Promise<string> {
  const reply = await rest(baseUrl, "POST", "/v1/external/webhooks", { key, body: { url, event_types: eventTypes } });
  if (reply.status !== 200) throw new Error(`creating a webhook failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.webhook.id as string;
}

/** Publishes one event as the admin; the reply, so callers can count what was accepted. */
export function publishEvent(baseUrl: string, adminKey: string, type: string, data: Record<string, unknown>): Promise<RestReply> {
  return rest(baseUrl, "POST", "/v1/admin/events", { key: adminKey, body: { type, data } });
}

/** Runs `task(i)` for i in [0, total) with at most `concurrency` at a time. */
export async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

/** Sum of a Prometheus counter's samples whose labels include every given label. */
export async function counterSum(processUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${processUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split("\n")
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && wanted.every((l) => line.includes(l)))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

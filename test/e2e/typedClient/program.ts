// A consumer's program against the client that openapi-typescript generates
// from the live /openapi.json (api.d.ts, written next to this file by
// test/e2e/typedClient.test.ts). It must type-check in strict mode without
// non-null assertions: every field the gateway always sends is typed as present.
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

const baseUrl = process.env.GATEWAY_URL ?? "http://localhost:8080";
const adminKey = process.env.ONERING_ADMIN_KEY ?? "";
const receiverUrl = process.env.RECEIVER_URL ?? "";

const admin = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${adminKey}` } });

const created = await admin.POST("/v1/admin/external/keys", { body: { name: "typed client", tier: "pro" } });
if (created.data === undefined) throw new Error(`create key: ${created.error.code}`);
const { key, secret } = created.data;

const client = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${secret}` } });
const me = await client.GET("/v1/external/me");
if (me.data === undefined) throw new Error(`me: ${me.error.code}`);
const tier: "free" | "pro" | "enterprise" = me.data.tier;
const limit: string = me.data.limit;

const subscribed = await client.POST("/v1/external/webhooks", { body: { url: receiverUrl, event_types: ["typed.*"] } });
if (subscribed.data === undefined) throw new Error(`subscribe: ${subscribed.error.code}`);
const webhookId: string = subscribed.data.webhook.id;

const published = await admin.POST("/v1/admin/events", { body: { type: "typed.hello", data: { n: 1 } } });
if (published.data === undefined) throw new Error(`publish: ${published.error.code}`);
const deliveryCount: number = published.data.delivery_count;

const listed = await client.GET("/v1/external/webhooks/{webhook_id}/deliveries", { params: { path: { webhook_id: webhookId }, query: { page_size: 10 } } });
if (listed.data === undefined) throw new Error(`deliveries: ${listed.error.code}`);
const statuses: Array<"pending" | "retrying" | "delivered" | "dead_letter" | "dropped"> = listed.data.deliveries.map((d) => d.status);

const missing = await client.GET("/v1/external/webhooks/{id}", { params: { path: { id: "wh_missing" } } });
const missingCode = missing.error?.code;

console.log(JSON.stringify({ keyId: key.id, tier, limit, webhookId, deliveryCount, statuses, circuit: listed.data.circuit.state, missingCode }));

// SSRF guard with ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS off: receiver URLs must be
// HTTPS and public when saved, and are checked again at delivery time, after
// DNS resolution (a name that now points at loopback is refused) and for
// literal addresses (an IPv6 form embedding a loopback IPv4 is refused).
import { ConnectError } from "@connectrpc/connect";
import dns from "node:dns";
import os from "node:os";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { reasonOf, violationsOf } from "../../services/shared/errors.js";
import { isPublicAddress } from "../../services/webhook/urlGuard.js";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { eventually, startReceiver, type Receiver } from "./receiver.js";
import { asOwner, webhookClient } from "./webhookClient.js";

let mesh: Mesh;
let receiver: Receiver;
let client: ReturnType<typeof webhookClient>;
// A name this machine resolves to a loopback address (its own host name, from /etc/hosts).
const loopbackName = os.hostname();

beforeAll(async () => {
  receiver = await startReceiver();
  mesh = await startMesh({ only: ["webhook", "webhook-worker"], env: { ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS: "0", ONERING_WEBHOOKS_MAX_ATTEMPTS: "1" } });
  client = webhookClient(mesh);
});
afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
});

it.each([
  ["http://example.com/hook", "https"],
  ["https://127.0.0.1/hook", "loopback"],
  ["https://localhost:8443/hook", "loopback"],
  ["https://10.1.2.3/hook", "private"],
  ["https://192.168.0.10/hook", "private"],
  ["https://169.254.169.254/latest/meta-data", "metadata"],
  ["https://[::1]/hook", "loopback"],
  ["https://[::ffff:127.0.0.1]/hook", "loopback"],
  // IPv6 forms that embed an IPv4 address (issue 18): judged by the IPv4 inside.
  ["https://[::127.0.0.1]/hook", "loopback"],
  ["https://[::7f00:1]/hook", "loopback"],
  ["https://[::169.254.169.254]/latest/meta-data/", "metadata"],
  ["https://[::10.0.0.1]/hook", "private"],
  ["https://[64:ff9b::7f00:1]/hook", "loopback"],
  ["https://[2002:a9fe:a9fe::1]/hook", "metadata"],
  ["https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "loopback"],
  ["https://[fd00:ec2::254]/hook", "private"],
  ["https://100.64.0.1/hook", "private"],
  ["https://user:pass@example.com/hook", "credentials"],
])("refuses %s", async (url, why) => {
  const err = await client.createWebhook({ url, eventTypes: ["a.b"] }, asOwner("key_ssrf")).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err && reasonOf(err)).toBe("INVALID_ARGUMENT");
  const [violation] = violationsOf(err!);
  expect(violation?.field).toBe("url");
  expect(violation?.description).toContain(why === "https" ? "https" : why === "credentials" ? "credentials" : "address");
});

it("refuses a host name that resolves to a loopback address", async () => {
  const { address } = await dns.promises.lookup(loopbackName);
  expect(isPublicAddress(address)).toBe(false);
  const err = await client.createWebhook({ url: `https://${loopbackName}/hook`, eventTypes: ["a.b"] }, asOwner("key_ssrf")).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(violationsOf(err!)[0]?.description).toContain("resolves to");
});

/** Saves a webhook behind the guard's back (as if saved before a rule existed) and returns its only delivery once refused. */
async function refusedDelivery(id: string, url: string, eventType: string) {
  const db = new pg.Client({ connectionString: mesh.databaseUrl });
  await db.connect();
  try {
    await db.query(
      `insert into webhooks.webhooks (id, owner_key_id, url, event_types, secret) values ($1, 'key_ssrf', $2, $3, 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==')`,
      [id, url, JSON.stringify([eventType])],
    );
  } finally {
    await db.end();
  }
  await client.publishEvent({ type: eventType, data: {} });
  return eventually(async () => {
    const d = (await client.listDeliveries({ webhookId: id }, asOwner("key_ssrf"))).deliveries[0];
    return d?.status === "dead_letter" && d;
  }, "the refused attempt");
}

it("checks again at delivery time, after DNS resolution (rebinding): the attempt fails and nothing is sent", async () => {
  // A webhook saved while its name was public, now resolving to loopback.
  const port = new URL(receiver.url).port;
  const delivery = await refusedDelivery("wh_rebound", `https://${loopbackName}:${port}/rebound`, "rebind.test");
  expect(delivery.attempts[0]!.error).toContain("non-public");
  expect(delivery.attempts[0]!.statusCode).toBe(0);
  expect(receiver.received).toHaveLength(0);
});

it("checks a literal IPv6 address embedding a loopback IPv4 again at delivery time", async () => {
  const port = new URL(receiver.url).port;
  const delivery = await refusedDelivery("wh_embedded", `https://[::7f00:1]:${port}/embedded`, "embedded.test");
  expect(delivery.attempts[0]!.error).toContain("receiver URL refused");
  expect(delivery.attempts[0]!.statusCode).toBe(0);
  expect(receiver.received).toHaveLength(0);
});

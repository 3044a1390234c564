// The web console in a real headless Chromium against a live mesh: sign-in
// both ways (and a wrong key's contract error), the overview, a key created
// and its secret shown once, canary-only flipped from the rollout page (with
// its audit entry) and a normal key then refused, a failing delivery in the
// consumer's log, dead letters replayed one by one and in bulk and delivered.
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildConsole } from "../../deploy/build-console.mjs";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { eventually, startReceiver, type Receiver } from "../webhooks/receiver.js";
import { chromiumPath, launchBrowser, type Browser } from "./browser.js";

let mesh: Mesh;
let receiver: Receiver;
let browser: Browser;
let admin: Page;
let partnerKey = "";
let receiverUp = false;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (.ci/run does)`);
  receiver = await startReceiver();
  receiver.script("/orders", () => (receiverUp ? { status: 200, body: "thanks" } : { status: 500, body: "receiver down for maintenance" }));
  await buildConsole();
  [mesh, browser] = await Promise.all([
    startMesh({
      env: {
        ONERING_WEBHOOKS_MAX_ATTEMPTS: "2",
        ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.2",
        ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
        // The receiver fails on purpose; an open circuit would only slow the test down.
        ONERING_WEBHOOKS_CIRCUIT_FAILURES: "1000",
      },
    }),
    launchBrowser(),
  ]);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await mesh?.stop();
  await receiver?.close();
});

const consoleUrl = () => `${mesh.gatewayUrl}/console/`;

async function rest(path: string, key: string, init: RequestInit = {}) {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function signIn(page: Page, key: string, operator = "") {
  await page.goto(consoleUrl());
  await page.getByLabel("Admin key or API key").fill(key);
  if (operator) await page.getByLabel(/Your name/).fill(operator);
  await page.getByRole("button", { name: "Sign in" }).click();
}

it("is served with a strict Content-Security-Policy and no third-party origin", async () => {
  const res = await fetch(consoleUrl());
  expect(res.status).toBe(200);
  const csp = res.headers.get("content-security-policy")!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  const html = await res.text();
  expect(html).not.toMatch(/https?:\/\//);
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
});

it("shows the contract's message and recovery for a wrong key, and keeps no key in the URL", async () => {
  const page = await browser.newPage();
  await signIn(page, "admin_not-the-right-key-at-all");
  const alert = page.getByRole("alert");
  await expect.poll(() => alert.textContent()).toContain("INVALID_API_KEY: invalid admin key");
  expect(await alert.textContent()).toContain("Check the key for typos");
  await signIn(page, "sk_live_0000000000000000000000000000000_000000");
  await expect.poll(() => alert.textContent()).toContain("INVALID_API_KEY");
  expect(page.url()).not.toContain("sk_live");
  await browser.screenshot(page, "sign-in-error");
  await page.close();
});

it("signs an operator in with the admin key and shows the overview with its five alerts", async () => {
  admin = await browser.newPage();
  await signIn(admin, mesh.adminKey, "Ada");
  await admin.getByRole("heading", { name: "Overview" }).waitFor();
  await expect.poll(() => admin.locator("[data-alert]").count()).toBe(5);
  for (const name of ["auth_failures", "rate_limits", "dead_letter", "replay_rejected", "latency_p90"]) {
    expect(await admin.locator(`[data-alert="${name}"]`).count(), name).toBe(1);
  }
  // The sign-in above failed twice in another tab; the overview counts those auth failures.
  await expect.poll(() => admin.getByText("Auth failures (24 h)").locator("xpath=..").textContent(), { timeout: 15_000 }).toMatch(/^[1-9]/);
  expect(await admin.evaluate("sessionStorage.getItem('onering.session')")).toContain(mesh.adminKey);
  expect(admin.url()).not.toContain(mesh.adminKey);
});

it("creates a key and shows its secret once", async () => {
  await admin.getByRole("link", { name: "Keys" }).click();
  const form = admin.getByRole("form", { name: "Create a key" });
  await form.getByLabel("Name").fill("partner");
  await form.getByLabel("Tier").selectOption("pro");
  await form.getByRole("button", { name: "Create key" }).click();
  partnerKey = (await admin.getByTestId("secret").textContent())!;
  expect(partnerKey).toMatch(/^sk_live_/);
  await admin.locator('[data-key="partner"]').waitFor();
  expect(await form.getByLabel("Name").inputValue()).toBe("");
  await browser.screenshot(admin, "keys");
  expect((await rest("/v1/external/me", partnerKey)).status).toBe(200);
  // Gone once the page is left: the API never returns it again either.
  await admin.getByRole("link", { name: "Overview" }).click();
  await admin.getByRole("link", { name: "Keys" }).click();
  await admin.locator('[data-key="partner"]').waitFor();
  expect(await admin.getByTestId("secret").count()).toBe(0);
  expect(await admin.content()).not.toContain(partnerKey);
});

it("changes a key's tier and canary flag, rotates it with a grace period and revokes it", async () => {
  const form = admin.getByRole("form", { name: "Create a key" });
  await form.getByLabel("Name").fill("temp");
  await form.getByRole("button", { name: "Create key" }).click();
  const first = (await admin.getByTestId("secret").textContent())!;
  const row = admin.locator('[data-key="temp"]');
  await row.getByLabel("Tier of temp").selectOption("enterprise");
  await row.getByRole("button", { name: "Canary temp" }).click();
  await expect.poll(() => row.getByRole("button", { name: "Canary temp" }).getAttribute("aria-pressed")).toBe("true");
  const keyOf = async () => (await rest("/v1/admin/external/keys", mesh.adminKey)).body.keys.find((k: { name: string }) => k.name === "temp");
  await expect.poll(async () => [(await keyOf())?.tier, (await keyOf())?.canary]).toEqual(["enterprise", true]);

  await row.getByRole("button", { name: "Rotate" }).click();
  await admin.getByRole("dialog").getByLabel(/Grace period/).fill("600");
  await admin.getByRole("dialog").getByRole("button", { name: "Rotate" }).click();
  await expect.poll(() => admin.getByTestId("secret").textContent()).not.toBe(first);
  const second = (await admin.getByTestId("secret").textContent())!;
  expect(await admin.getByRole("status").textContent()).toContain("The old one works until");
  expect((await rest("/v1/external/me", first)).status).toBe(200);
  expect((await rest("/v1/external/me", second)).status).toBe(200);

  await row.getByRole("button", { name: "Revoke" }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await expect.poll(() => row.count()).toBe(0);
  await expect.poll(async () => (await rest("/v1/external/me", second)).body.code).toBe("API_KEY_REVOKED");
  await admin.getByLabel("Include revoked").check();
  await expect.poll(() => row.textContent()).toContain("revoked");
  await admin.getByLabel("Include revoked").uncheck();
});

it("flips canary-only from the rollout page after a confirmation, refuses a normal key, and audits the flip", async () => {
  await admin.getByRole("link", { name: "Rollout" }).click();
  const row = admin.locator('[data-flag="external_api_canary_only"]');
  await row.getByRole("button", { name: "Turn on" }).click();
  const dialog = admin.getByRole("dialog");
  await dialog.getByRole("button", { name: "Turn on" }).click();
  await expect.poll(() => row.locator("td").first().textContent()).toBe("on");
  const refused = await rest("/v1/external/me", partnerKey);
  expect(refused.status).toBe(403);
  expect(refused.body.code).toBe("CANARY_ONLY_MODE");
  const audit = admin.getByTestId("audit");
  await expect.poll(() => audit.textContent()).toContain("admin (Ada)");
  expect(await audit.locator("tbody tr").first().textContent()).toMatch(/external_api_canary_only.*on.*admin \(Ada\)/);
  await browser.screenshot(admin, "rollout");
  const changes = await rest("/v1/admin/flag-changes", mesh.adminKey);
  expect(changes.body.changes[0]).toMatchObject({ name: "external_api_canary_only", enabled: true, updated_by: "admin (Ada)" });

  await row.getByRole("button", { name: "Turn off" }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Turn off" }).click();
  await expect.poll(() => row.locator("td").first().textContent()).toBe("off");
  expect((await rest("/v1/external/me", partnerKey)).status).toBe(200);
  await expect.poll(() => audit.locator("tbody tr").count()).toBe(2);

  // A whole stage at once: back to stage 1 (three flips), then on to general availability.
  const stage = admin.getByTestId("stage");
  await admin.locator('[data-stage^="1."]').getByRole("button", { name: "Move to this stage" }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Apply" }).click();
  await expect.poll(() => stage.textContent()).toContain("1. API on, canary keys only");
  expect((await rest("/v1/external/me", partnerKey)).body.code).toBe("CANARY_ONLY_MODE");
  await admin.locator('[data-stage^="4."]').getByRole("button", { name: "Move to this stage" }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Apply" }).click();
  await expect.poll(() => stage.textContent()).toContain("4. Canary-only off");
  await expect.poll(() => audit.locator("tbody tr").count()).toBe(8);
  expect((await rest("/v1/external/me", partnerKey)).status).toBe(200);
});

it("signs a consumer in with the keyboard, shows their key, and a failing delivery in their log", async () => {
  const consumer = await browser.newPage();
  await consumer.goto(consoleUrl());
  await consumer.keyboard.press("Tab");
  await consumer.keyboard.type(partnerKey);
  await consumer.keyboard.press("Enter");
  await consumer.getByRole("heading", { name: "My key" }).waitFor();
  await expect.poll(() => consumer.getByTestId("tier").textContent()).toBe("pro");
  await browser.screenshot(consumer, "my-key");

  await consumer.getByRole("link", { name: "My webhooks" }).click();
  const form = consumer.getByRole("form", { name: "Create a webhook" });
  await form.getByLabel("URL").fill(`${receiver.url}/orders`);
  await form.getByLabel("Event types").fill("order.created");
  await form.getByRole("button", { name: "Create webhook" }).click();
  expect(await consumer.getByTestId("secret").textContent()).toMatch(/^whsec_/);

  // The operator publishes an event from the webhooks page; the receiver answers 500 twice.
  await admin.getByRole("link", { name: "Webhooks" }).click();
  const publish = admin.getByRole("form", { name: "Publish an event" });
  await publish.getByLabel("Type").fill("order.created");
  await publish.getByRole("button", { name: "Publish" }).click();
  await expect.poll(() => admin.getByRole("status").first().textContent()).toContain("to 1 subscription");

  await consumer.locator(`[data-webhook="${receiver.url}/orders"]`).getByRole("button", { name: "Deliveries" }).click();
  const delivery = consumer.locator('[data-status="dead_letter"]');
  await delivery.waitFor({ timeout: 30_000 });
  const attempts = delivery.locator("[data-attempt]");
  expect(await attempts.count()).toBe(2);
  expect(await attempts.first().getByTestId("attempt-status").textContent()).toBe("500");
  expect(await attempts.first().textContent()).toContain("receiver down for maintenance");
  expect(await attempts.first().textContent()).toMatch(/\d+ ms/);

  // A reload keeps the session (sessionStorage) but not the webhook's secret, shown only at creation.
  await consumer.reload();
  await consumer.locator(`[data-webhook="${receiver.url}/orders"]`).getByRole("button", { name: "Deliveries" }).click();
  await consumer.locator('[data-status="dead_letter"]').waitFor();
  expect(await consumer.getByTestId("secret").count()).toBe(0);
  await browser.screenshot(consumer, "delivery-log");

  // At phone width nothing but the tables' own scrollers overflows.
  await consumer.setViewportSize({ width: 390, height: 844 });
  expect(await consumer.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
  await browser.screenshot(consumer, "delivery-log-phone");
  await consumer.close();
});

it("replays a dead letter, then all since a time, and each is delivered", async () => {
  // A second dead letter for the bulk replay.
  await rest("/v1/admin/events", mesh.adminKey, { method: "POST", body: JSON.stringify({ type: "order.created", data: { n: 2 } }) });
  const deadLetters = async () => (await rest("/v1/admin/webhooks/dead-letters", mesh.adminKey)).body.dead_letters as { id: string }[];
  const [first, second] = await eventually(async () => ((await deadLetters()).length === 2 ? await deadLetters() : undefined), "two dead letters", 30_000);
  // The endpoint that failed shows its failures in a row (two events, two attempts each);
  // narrowed to failing endpoints, a healthy one of another key drops out.
  await rest("/v1/external/webhooks", (await rest("/v1/admin/external/keys", mesh.adminKey, { method: "POST", body: JSON.stringify({ name: "healthy" }) })).body.secret, {
    method: "POST",
    body: JSON.stringify({ url: `${receiver.url}/healthy`, event_types: ["other.thing"] }),
  });
  const endpoint = admin.locator(`[data-endpoint="${receiver.url}/orders"]`);
  await expect.poll(() => endpoint.getByTestId("failures").textContent(), { timeout: 10_000 }).toBe("4");
  expect(await endpoint.getByTestId("circuit").textContent()).toBe("closed");
  await expect.poll(() => admin.locator("[data-endpoint]").count(), { timeout: 10_000 }).toBe(2);
  await admin.getByLabel("Failing only").check();
  await expect.poll(() => admin.locator("[data-endpoint]").count()).toBe(1);
  receiverUp = true;

  await admin.getByRole("button", { name: "Filter" }).click();
  await admin.locator(`[data-delivery="${first!.id}"]`).getByRole("button", { name: "Replay" }).click();
  await expect.poll(() => admin.getByRole("status").first().textContent()).toContain(`Replayed ${first!.id}`);
  await browser.screenshot(admin, "dead-letters");
  await admin.getByRole("form", { name: "Filter dead letters" }).getByLabel("Since").fill("2020-01-01T00:00:00");
  await admin.getByRole("button", { name: "Filter" }).click();
  await admin.getByRole("button", { name: "Replay all matching" }).click();
  await expect.poll(() => admin.getByTestId("bulk-replay").textContent()).toContain("Replayed 1, skipped 0");

  const delivered = async () => {
    const hooks = (await rest("/v1/external/webhooks", partnerKey)).body.webhooks as { id: string }[];
    const log = (await rest(`/v1/external/webhooks/${hooks[0]!.id}/deliveries`, partnerKey)).body.deliveries as { id: string; status: string }[];
    return log.filter((d) => d.status === "delivered").map((d) => d.id);
  };
  const ids = await eventually(async () => ((await delivered()).length === 2 ? await delivered() : undefined), "both replays delivered", 30_000);
  expect(ids.sort()).toEqual([first!.id, second!.id].sort());
  await expect.poll(() => admin.locator("[data-delivery]").count()).toBe(0);

  await admin.getByRole("link", { name: "Overview" }).click();
  await expect.poll(() => admin.getByText("Delivered", { exact: true }).locator("xpath=..").textContent(), { timeout: 15_000 }).toMatch(/^[2-9]/);
  await browser.screenshot(admin, "overview");
});

it("lets a consumer edit, pause, resume, re-sign and test their webhook", async () => {
  const consumer = await browser.newPage();
  await signIn(consumer, partnerKey);
  await consumer.getByRole("link", { name: "My webhooks" }).click();
  const row = consumer.locator(`[data-webhook="${receiver.url}/orders"]`);
  const hook = async () => (await rest("/v1/external/webhooks", partnerKey)).body.webhooks[0] as Record<string, any>;

  await row.getByRole("button", { name: "Edit" }).click();
  const edit = consumer.getByRole("form", { name: `Edit ${receiver.url}/orders` });
  await edit.getByLabel("Event types").fill("order.created, order.paid");
  await edit.getByLabel("Description").fill("orders feed");
  await edit.getByRole("button", { name: "Save" }).click();
  await expect.poll(() => row.textContent()).toContain("orders feed");
  expect((await hook()).event_types).toEqual(["order.created", "order.paid"]);

  await row.getByRole("button", { name: "Pause" }).click();
  await expect.poll(() => row.textContent()).toContain("paused");
  expect((await hook()).paused).toBe(true);
  await row.getByRole("button", { name: "Resume" }).click();
  await expect.poll(() => row.textContent()).toContain("active");

  await row.getByRole("button", { name: "Rotate secret" }).click();
  await expect.poll(() => consumer.getByTestId("secret").textContent()).toMatch(/^whsec_/);
  expect(await consumer.getByRole("status").last().textContent()).toContain("The old one still signs until");

  await row.getByRole("button", { name: "Send test event" }).click();
  const test = consumer.locator("article[data-delivery]").filter({ hasText: "webhook.test" });
  await expect.poll(() => test.getAttribute("data-status"), { timeout: 20_000 }).toBe("delivered");
  expect(await test.getByTestId("attempt-status").first().textContent()).toBe("200");
  // Signed with both secrets during the overlap (Standard Webhooks: space-separated signatures).
  expect(receiver.on("/orders").at(-1)!.headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
  await consumer.close();
});

it("raised no page error and no Content-Security-Policy violation", () => {
  expect(browser.errors.filter((e) => e.startsWith("pageerror") || /Content.Security.Policy/i.test(e))).toEqual([]);
});

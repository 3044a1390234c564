// The gateway's /console file handler on a plain HTTP server: the page and its
// assets with the security headers, the single-page fallback, the redirect of
// the bare path, other paths passed on, and a clear 404 when nothing is built.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { consoleHandler } from "../../services/gateway/consoleAssets.js";
import { createLogger } from "../../services/shared/logger.js";

let dir: string;
const servers: http.Server[] = [];

async function serveDir(root: string): Promise<string> {
  const handle = consoleHandler(createLogger("test", "silent"), root);
  const server = http.createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(418).end("passed on");
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "console-assets-"));
  await mkdir(path.join(dir, "assets"));
  await writeFile(path.join(dir, "index.html"), "<!doctype html><div id=app></div>");
  await writeFile(path.join(dir, "assets", "index-abc123.js"), "console.log(1)");
});

afterAll(async () => {
  for (const server of servers) server.close();
  await rm(dir, { recursive: true, force: true });
});

it("serves the page and hashed assets with the security headers, and the page for any other path under /console", async () => {
  const base = await serveDir(dir);
  const page = await fetch(`${base}/console/`);
  expect([page.status, page.headers.get("content-type"), page.headers.get("cache-control")]).toEqual([200, "text/html; charset=utf-8", "no-cache"]);
  expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
  expect(await page.text()).toContain("id=app");
  const script = await fetch(`${base}/console/assets/index-abc123.js`);
  expect([script.status, script.headers.get("content-type"), script.headers.get("cache-control")]).toEqual([200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"]);
  const deep = await fetch(`${base}/console/keys/anything`);
  expect([deep.status, await deep.text()]).toEqual([200, "<!doctype html><div id=app></div>"]);
  const head = await fetch(`${base}/console/`, { method: "HEAD" });
  expect([head.status, head.headers.get("content-length")]).toEqual([200, String("<!doctype html><div id=app></div>".length)]);
});

it("redirects the bare path, keeping the query, and passes other paths and methods on", async () => {
  const base = await serveDir(dir);
  const bare = await fetch(`${base}/console?x=1`, { redirect: "manual" });
  expect([bare.status, bare.headers.get("location")]).toEqual([308, "/console/?x=1"]);
  for (const [method, url] of [["GET", "/consoles"], ["GET", "/v1/external/me"], ["POST", "/console/"]] as const) {
    expect((await fetch(`${base}${url}`, { method })).status, `${method} ${url}`).toBe(418);
  }
});

it("answers 404 NOT_FOUND in the contract's shape when the console is not built", async () => {
  const base = await serveDir(path.join(dir, "missing"));
  const res = await fetch(`${base}/console/`);
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ code: "NOT_FOUND", message: "the console is not built: run npm run build" });
});

// What the smoke test makes of the URLs it is given, and what it says when
// nothing answers at one; no mesh needed.
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { request } from "../../tools/smoke/request.js";
import { backendBase, sinkUrls } from "../../tools/smoke/urls.js";
import { runTool } from "./toolProcess.js";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("sinkUrls", () => {
  it.each(["http://localhost:9090", "http://localhost:9090/", "http://localhost:9090/webhook", "http://localhost:9090/deliveries?x=1"])(
    "takes %s as the sink at http://localhost:9090",
    (given) => {
      expect(sinkUrls(given)).toEqual({ origin: "http://localhost:9090", receive: "http://localhost:9090/webhook" });
    },
  );

  it("refuses what is not an http(s) URL, naming the option", () => {
    expect(() => sinkUrls("localhost:9090")).toThrow('--webhook-sink must be an http:// or https:// URL, got "localhost:9090"');
    expect(() => sinkUrls("9090")).toThrow("--webhook-sink");
  });
});

describe("backendBase", () => {
  it("keeps the gateway's path and drops trailing slashes", () => {
    expect(backendBase("http://127.0.0.1:8080/")).toBe("http://127.0.0.1:8080");
    expect(backendBase("https://api.example.com/onering//")).toBe("https://api.example.com/onering");
  });

  it("refuses what is not an http(s) URL, naming the option", () => {
    expect(() => backendBase("ftp://127.0.0.1:8080")).toThrow("--backend-url must be an http:// or https:// URL");
  });
});

describe("a request nothing answers", () => {
  it("fails naming the URL it tried, the process and the reason", async () => {
    const port = await closedPort();
    await expect(request("webhook sink", `http://127.0.0.1:${port}`, "/deliveries")).rejects.toThrow(
      `cannot reach http://127.0.0.1:${port} (webhook sink): connect ECONNREFUSED`,
    );
  });

  it("makes the smoke tool report the backend's URL in each phase that calls it", async () => {
    const port = await closedPort();
    const { code, stdout } = await runTool("tools/smoke/main.ts", ["--json", "--backend-url", `http://127.0.0.1:${port}`, "--admin-key", "admin_smoke_unreachable", "--webhook-sink", "http://127.0.0.1:9/webhook"]);
    const report = JSON.parse(stdout) as { passed: number; results: { passed: boolean; detail: string }[] };
    expect(report.passed).toBe(0);
    for (const result of report.results.slice(0, 2)) expect(result.detail).toBe(`cannot reach http://127.0.0.1:${port} (backend): connect ECONNREFUSED`);
    expect(code).toBe(1);
  });

  it("makes the smoke tool refuse a sink URL it cannot parse, with exit 2", async () => {
    const { code, stderr } = await runTool("tools/smoke/main.ts", ["--admin-key", "admin_smoke_unreachable", "--webhook-sink", "localhost:9090"]);
    expect(stderr).toContain('--webhook-sink must be an http:// or https:// URL, got "localhost:9090"');
    expect(code).toBe(2);
  });
});

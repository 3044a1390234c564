// Responses answered in one turn of the event loop leave together after it,
// in the order they were answered, each with its own payload.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, it } from "vitest";
import { endTogether } from "../../services/shared/transcoding/endTogether.js";

it("ends the turn's responses after it, in order, and each reaches its client", async () => {
  const ended: string[] = [];
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.on("finish", () => ended.push(req.url!));
    endTogether(res, `body of ${req.url}`);
    expect(res.writableEnded).toBe(false);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const paths = ["/a", "/b", "/c", "/d"];
    const bodies = await Promise.all(paths.map(async (path) => (await fetch(`${base}${path}`)).text()));
    expect(bodies).toEqual(paths.map((path) => `body of ${path}`));
    expect([...ended].sort()).toEqual(paths);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

it("ends responses of one turn in the order they were answered", async () => {
  const order: string[] = [];
  const response = (name: string) => ({ end: (payload: string) => order.push(`${name}:${payload}`) }) as unknown as http.ServerResponse;
  endTogether(response("first"), "1");
  endTogether(response("second"), "2");
  expect(order).toEqual([]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(order).toEqual(["first:1", "second:2"]);
});

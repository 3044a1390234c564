// npm start's port-conflict hint: the base it suggests has all five ports free.
import net from "node:net";
import { expect, it } from "vitest";
import { freePortBase, portTaken } from "../../tools/mesh/ports.js";

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

it("suggests a base past one whose range holds a taken port, with all five of its ports free", async () => {
  const first = (await freePortBase(28_180, 5))!;
  const blocker = await listen(first + 3);
  try {
    expect(await portTaken(first + 3)).toBe(true);
    const suggested = (await freePortBase(first, 5))!;
    expect(suggested).toBeGreaterThan(first);
    for (let port = suggested; port < suggested + 5; port++) expect(await portTaken(port), `port ${port}`).toBe(false);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

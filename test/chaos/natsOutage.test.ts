// NATS stopped for 5 s while events are published through the gateway: every
// event accepted with 2xx (the outbox holds it) is delivered once NATS returns.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { startNatsServer } from "../../tools/mesh/natsServer.js";
import { freePort, startMesh, type Mesh } from "../harness/mesh.js";
import { eventually } from "../webhooks/receiver.js";
import { startDedupingReceiver, type DedupingReceiver } from "./dedupingReceiver.js";
import { createKey, createWebhook, expectContractError, publishEvent } from "./rest.js";

const outageMs = 5000;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

it("every event accepted while NATS is down for 5 s is delivered after it returns", async () => {
  const port = await freePort();
  const storeDir = mkdtempSync(path.join(os.tmpdir(), "onering-chaos-nats-"));
  cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }));
  let nats: ChildProcess = await startNatsServer(port, storeDir);
  cleanups.push(() => nats.kill("SIGKILL"));
  const receiver: DedupingReceiver = await startDedupingReceiver();
  cleanups.push(() => receiver.close());
  const mesh: Mesh = await startMesh({
    natsUrl: `nats://127.0.0.1:${port}`,
    env: { ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.3,1", ONERING_WEBHOOKS_MAX_ATTEMPTS: "20", ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5" },
  });
  cleanups.push(() => mesh.stop());
  const { secret } = await createKey(mesh.gatewayUrl, mesh.adminKey, { name: "chaos-nats", tier: "enterprise" });
  await createWebhook(mesh.gatewayUrl, secret, `${receiver.url}/nats`, ["chaos.nats"]);

  const accepted: string[] = [];
  let acceptedDuringOutage = 0;
  let natsDown = false;
  let publishing = true;
  const publishers = Array.from({ length: 4 }, async () => {
    for (let i = 0; publishing; i++) {
      const reply = await publishEvent(mesh.gatewayUrl, mesh.adminKey, "chaos.nats", { i });
      if (reply.status !== 200) {
        // Refusing is allowed, in the contract's shape; losing an accepted event is not.
        expect(expectContractError(reply)).not.toBe("INTERNAL");
        continue;
      }
      accepted.push(reply.body.event.id as string);
      if (natsDown) acceptedDuringOutage++;
    }
  });

  await eventually(() => accepted.length >= 20, "publishing under way", 60_000);
  const exited = new Promise((r) => nats.once("exit", r));
  nats.kill("SIGTERM");
  await exited;
  natsDown = true;
  await new Promise((r) => setTimeout(r, outageMs));
  natsDown = false;
  nats = await startNatsServer(port, storeDir);
  const atReturn = accepted.length;
  await eventually(() => accepted.length >= atReturn + 20, "publishing after NATS returns", 60_000);
  publishing = false;
  await Promise.all(publishers);

  // The outbox took events while NATS was down.
  expect(acceptedDuringOutage).toBeGreaterThan(0);
  await eventually(() => receiver.eventIdsOn("/nats").size === accepted.length, `all ${accepted.length} accepted events delivered`, 90_000);
  expect([...receiver.eventIdsOn("/nats")].sort()).toEqual([...accepted].sort());
}, 300_000);

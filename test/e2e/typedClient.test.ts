// A new consumer's path through the API: generate a typed client from the live
// /openapi.json with openapi-typescript, type-check a small program that uses
// it (strict, no non-null assertions), then run it against the real mesh:
// create a key, /me, subscribe, publish, list deliveries.
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import openapiTS from "openapi-typescript";
import { afterAll, beforeAll, expect, it } from "vitest";
import { repoRoot } from "../../tools/mesh/processes.js";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { startReceiver, type Receiver } from "../webhooks/receiver.js";

const run = promisify(execFile);
const programSource = path.join(repoRoot, "test/e2e/typedClient/program.ts");
// Inside node_modules, so the program resolves openapi-fetch from the repository's packages.
const work = path.join(repoRoot, "node_modules/.cache", `typed-client-${process.pid}`);
let mesh: Mesh;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  mesh = await startMesh();
  mkdirSync(work, { recursive: true });
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
  await receiver?.close();
  rmSync(work, { recursive: true, force: true });
});

it("uses no non-null assertions", () => {
  const code = readFileSync(programSource, "utf8").replace(/\/\/.*$/gm, "");
  expect(code).not.toMatch(/[\w)\]]!(?!=)/);
});

it("generates a client from /openapi.json that type-checks a strict program and works against the mesh", async () => {
  const document = (await (await fetch(`${mesh.gatewayUrl}/openapi.json`)).json()) as Parameters<typeof openapiTS>[0];
  writeFileSync(path.join(work, "api.d.ts"), await openapiTS(document));
  copyFileSync(programSource, path.join(work, "program.ts"));
  writeFileSync(
    path.join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [path.join(repoRoot, "node_modules/@types")] },
      files: ["program.ts", "api.d.ts"],
    }),
  );
  // Without a package.json of its own the program is a module by its import syntax only; say so, for top-level await.
  writeFileSync(path.join(work, "package.json"), JSON.stringify({ type: "module" }));

  const typeCheck = await run(path.join(repoRoot, "node_modules/.bin/tsc"), ["-p", path.join(work, "tsconfig.json")]).then(
    () => "",
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  expect(typeCheck).toBe("");

  const { stdout } = await run(path.join(repoRoot, "node_modules/.bin/tsx"), [path.join(work, "program.ts")], {
    env: { ...process.env, GATEWAY_URL: mesh.gatewayUrl, ONERING_ADMIN_KEY: mesh.adminKey, RECEIVER_URL: `${receiver.url}/typed` },
  });
  const result = JSON.parse(stdout.trim());
  expect(result).toMatchObject({ keyId: expect.stringMatching(/^key_/), tier: "pro", limit: "1000", webhookId: expect.stringMatching(/^wh_/), deliveryCount: 1, missingCode: "NOT_FOUND" });
  expect(result.statuses).toHaveLength(1);
  expect(["pending", "retrying", "delivered"]).toContain(result.statuses[0]);
  expect(result.circuit).toBe("closed");
});

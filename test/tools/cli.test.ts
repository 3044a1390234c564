// The admin CLI (`onering`, its own process) against a live mesh: keys,
// flags, events, dead letters from a sink that fails on purpose, metrics.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../tools/mesh/processes.js";
import { startMesh, type Mesh } from "../harness/mesh.js";
import { eventually, rest, runTool, startSinkProcess, startTool, type SinkProcess } from "./toolProcess.js";

let mesh: Mesh;
let failingSink: SinkProcess;

const onering = (...args: string[]) => runTool("tools/onering/main.ts", ["--url", mesh.gatewayUrl, "--admin-key", mesh.adminKey, ...args]);

async function ok(...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await onering(...args);
  expect(stderr, `onering ${args.join(" ")}`).toBe("");
  expect(code).toBe(0);
  return stdout;
}

const me = (secret: string) => fetch(`${mesh.gatewayUrl}/v1/external/me`, { headers: { authorization: `Bearer ${secret}` } });

async function deadLetterIds(): Promise<string[]> {
  const res = await rest<{ dead_letters: { id: string }[] }>(`${mesh.gatewayUrl}/v1/admin/webhooks/dead-letters`, mesh.adminKey);
  return res.dead_letters.map((d) => d.id);
}

beforeAll(async () => {
  [mesh, failingSink] = await Promise.all([
    startMesh({
      env: {
        ONERING_WEBHOOKS_MAX_ATTEMPTS: "2",
        ONERING_WEBHOOKS_BACKOFF_SECONDS: "0.2",
        ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS: "2",
        ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS: "0.5",
        // The failing sink is to dead-letter deliveries quickly, not to open its circuit.
        ONERING_WEBHOOKS_CIRCUIT_FAILURES: "1000",
      },
    }),
    startSinkProcess(["--port", "0", "--status", "500"]),
  ]);
  const owner = await rest<{ secret: string }>(`${mesh.gatewayUrl}/v1/admin/external/keys`, mesh.adminKey, { method: "POST", body: { name: "receiver-owner" } });
  await rest(`${mesh.gatewayUrl}/v1/external/webhooks`, owner.secret, { method: "POST", body: { url: `${failingSink.url}/webhook`, event_types: ["cli.*"] } });
}, 180_000);
afterAll(async () => {
  await failingSink?.stop();
  await mesh?.stop();
});

describe("keys", () => {
  let id: string;
  let secret: string;

  it("create shows the secret once, as JSON or for humans", async () => {
    const created = JSON.parse(await ok("--json", "keys", "create", "--name", "ci", "--tier", "pro", "--canary")) as {
      key: { id: string; tier: string; canary: boolean };
      secret: string;
    };
    expect(created.key).toMatchObject({ tier: "pro", canary: true });
    expect(created.secret).toMatch(/^sk_live_/);
    ({ id } = created.key);
    ({ secret } = created);
    expect((await me(secret)).status).toBe(200);
    expect(await ok("keys", "create", "--name", "human")).toMatch(/^created key_\S+ \(free\)\nsecret \(shown once, store it now\): sk_live_/);
  });

  it("list renders a table and JSON", async () => {
    const human = await ok("keys", "list");
    expect(human.split("\n")[0]).toMatch(/^id\s+name\s+tier\s+canary\s+usage\s+last used\s+revoked$/);
    expect(human).toMatch(new RegExp(`${id}\\s+ci\\s+pro\\s+yes`));
    const listed = JSON.parse(await ok("--json", "keys", "list")) as { keys: { id: string }[] };
    expect(listed.keys.map((k) => k.id)).toContain(id);
  });

  it("rotate returns a new secret and the old one stops working", async () => {
    const rotated = JSON.parse(await ok("--json", "keys", "rotate", id)) as { secret: string };
    expect(rotated.secret).not.toBe(secret);
    expect((await me(rotated.secret)).status).toBe(200);
    await eventually(async () => (await me(secret)).status === 401, "the old secret to be refused");
    secret = rotated.secret;
  });

  it("revoke stops the key across the mesh", async () => {
    expect(await ok("keys", "revoke", id)).toMatch(new RegExp(`^revoked ${id} at \\d{4}-`));
    await eventually(async () => (await me(secret)).status === 401, "the revoked key to be refused");
  });
});

describe("flags", () => {
  it("get lists the four kill switches; set flips one live", async () => {
    const table = await ok("flags", "get");
    for (const flag of ["external_api_enabled", "external_api_canary_only", "webhooks_enabled", "webhooks_delivery_enabled"]) expect(table).toContain(flag);
    try {
      expect(await ok("flags", "set", "webhooks_delivery_enabled", "off")).toBe("webhooks_delivery_enabled is now off\n");
      const flags = JSON.parse(await ok("--json", "flags", "get")) as { flags: { name: string; enabled: boolean; updated_by: string }[] };
      expect(flags.flags.find((f) => f.name === "webhooks_delivery_enabled")).toMatchObject({ enabled: false, updated_by: "admin" });
    } finally {
      // Later tests need deliveries flowing.
      expect(await ok("flags", "set", "webhooks_delivery_enabled", "on")).toBe("webhooks_delivery_enabled is now on\n");
    }
  });

  it("refuses a value that is not on or off, with usage and exit 2", async () => {
    const { code, stderr } = await onering("flags", "set", "webhooks_enabled", "maybe");
    expect(stderr).toContain('expected on or off, got "maybe"');
    expect(code).toBe(2);
  });
});

describe("events and dead letters", () => {
  it("publish fans out to the matching webhook", async () => {
    for (let n = 1; n <= 3; n++) {
      const res = JSON.parse(await ok("--json", "events", "publish", "--type", "cli.failed", "--data", JSON.stringify({ n }))) as { delivery_count: number };
      expect(Number(res.delivery_count)).toBe(1);
    }
    expect(await ok("events", "publish", "--type", "cli.failed", "--idempotency-key", "same")).toMatch(/^published evt_/);
    expect(await ok("events", "publish", "--type", "cli.failed", "--idempotency-key", "same")).toMatch(/^replayed \(already published\) evt_/);
  });

  it("list shows what the failing receiver dead-lettered", async () => {
    const ids = await eventually(async () => {
      const current = await deadLetterIds();
      return current.length === 4 && current;
    }, "four dead letters");
    const human = await ok("dead-letters", "list");
    expect(human.split("\n")[0]).toMatch(/^delivery\s+webhook\s+event type\s+attempts\s+created$/);
    for (const id of ids) expect(human).toMatch(new RegExp(`${id}\\s+wh_\\S+\\s+cli\\.failed\\s+2\\s`));
  });

  it("replay-all replays every dead letter with a progress line each on stderr", async () => {
    const { code, stdout, stderr } = await onering("dead-letters", "replay-all");
    expect(stderr.trim().split("\n")).toEqual(["replayed 1/4", "replayed 2/4", "replayed 3/4", "replayed 4/4"]);
    expect(stdout).toBe("replayed 4 dead letter(s), 0 skipped, 0 failed\n");
    expect(code).toBe(0);
  });

  it("replay sends one delivery again", async () => {
    // The receiver still fails, so the replayed deliveries come back as dead letters.
    const [id] = await eventually(async () => {
      const current = await deadLetterIds();
      return current.length === 4 && current;
    }, "the replayed deliveries to be dead again");
    expect(await ok("dead-letters", "replay", id!)).toMatch(new RegExp(`^replaying ${id} \\(status pending, was dead_letter\\)`));
  });

  it("a disabled webhook's dead letter: replay fails with WEBHOOK_DISABLED and what to do, replay-all skips it and says why; it stays listed", async () => {
    // The delivery the test above replayed is dead again first, so --since below matches only this test's.
    await eventually(async () => (await deadLetterIds()).length === 4, "the replayed delivery to be dead again");
    const since = new Date().toISOString();
    const owner = await rest<{ secret: string }>(`${mesh.gatewayUrl}/v1/admin/external/keys`, mesh.adminKey, { method: "POST", body: { name: "gone-owner" } });
    const hook = `${mesh.gatewayUrl}/v1/external/webhooks`;
    const { webhook } = await rest<{ webhook: { id: string } }>(hook, owner.secret, { method: "POST", body: { url: `${failingSink.url}/gone`, event_types: ["cligone.*"] } });
    await ok("events", "publish", "--type", "cligone.failed");
    const deadOfHook = async () => (await rest<{ dead_letters: { id: string }[] }>(`${mesh.gatewayUrl}/v1/admin/webhooks/dead-letters?webhook_id=${webhook.id}`, mesh.adminKey)).dead_letters.map((d) => d.id);
    const [id] = await eventually(async () => {
      const ids = await deadOfHook();
      return ids.length === 1 && ids;
    }, "the dead letter");
    await rest(`${hook}/${webhook.id}`, owner.secret, { method: "PATCH", body: { enabled: false } });
    const why = `delivery ${id} was not replayed and is unchanged: webhook ${webhook.id} is disabled`;
    const recovery = 'Enable the webhook (PATCH /v1/external/webhooks/{id} with {"enabled": true}), then replay; a deleted webhook takes no replays.';

    expect(await onering("dead-letters", "replay", id!)).toEqual({ code: 1, stdout: "", stderr: `error: WEBHOOK_DISABLED: ${why}\n${recovery}\n` });
    expect(await onering("dead-letters", "replay-all", "--since", since)).toEqual({
      code: 0,
      stdout: `replayed 0 dead letter(s), 1 skipped, 0 failed\nskipped 1 of webhook ${webhook.id}, left listed: ${why}\n${recovery}\n`,
      stderr: "replayed 1/1 (1 skipped)\n",
    });
    expect(JSON.parse((await onering("--json", "dead-letters", "replay-all", "--since", since)).stdout)).toEqual({
      replayed: 0,
      skipped: 1,
      failed: 0,
      skipped_webhooks: [{ webhook_id: webhook.id, count: 1, message: why }],
    });
    expect(await deadOfHook()).toEqual([id]);
  });
});

describe("metrics", () => {
  it("show prints the dashboard, or both responses as JSON", async () => {
    const human = await ok("metrics", "show");
    expect(human).toMatch(/^OneRing mesh — /);
    expect(human).toMatch(/External API: \d+ requests/);
    expect(human).toMatch(/Webhooks: \d+ delivered, \d+ failed attempts, \d+ dead letters/);
    const json = JSON.parse(await ok("--json", "metrics", "show")) as { external: Record<string, unknown>; webhooks: Record<string, unknown> };
    expect(json.external).toHaveProperty("requests_total");
    expect(json.webhooks).toHaveProperty("dead_letter");
  });

  it("watch ends quietly with exit 0 when its reader goes away (| head)", async () => {
    const watch = spawn(process.execPath, ["--import", "tsx", "tools/onering/main.ts", "--url", mesh.gatewayUrl, "--admin-key", mesh.adminKey, "metrics", "watch", "--interval", "1"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    watch.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Like `head -c 1`: read the first screen, then close the pipe.
    await new Promise((resolve) => watch.stdout.once("data", resolve));
    watch.stdout.destroy();
    const code = await new Promise((resolve) => watch.once("close", resolve));
    expect([code, stderr]).toEqual([0, ""]);
  });

  it("watch redraws the dashboard until stopped", async () => {
    const watch = startTool("tools/onering/main.ts", ["--url", mesh.gatewayUrl, "--admin-key", mesh.adminKey, "metrics", "watch", "--interval", "1"]);
    try {
      await watch.waitFor(/(OneRing mesh — [^\n]*\n[\s\S]*){2}/);
      expect(watch.output()).toContain("refreshing every 1s, Ctrl-C to stop");
    } finally {
      await watch.stop();
    }
  });
});

describe("the onering bin", () => {
  it("runs through bin.mjs without tsx on the command line", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["tools/onering/bin.mjs", "--url", mesh.gatewayUrl, "--admin-key", mesh.adminKey, "flags", "get"], { cwd: repoRoot });
    expect(stdout).toContain("webhooks_enabled");
  });

  it("fails with exit 1 and the reason on a wrong admin key", async () => {
    const { code, stderr } = await runTool("tools/onering/main.ts", ["--url", mesh.gatewayUrl, "--admin-key", "admin_wrong_wrong_wrong", "keys", "list"]);
    expect(stderr).toBe("error: INVALID_API_KEY: invalid admin key\nCheck the key for typos; create a new one if it was lost.\n");
    expect(code).toBe(1);
  });

  it("with --json, writes errors to stderr as JSON in the contract's shape", async () => {
    const wrongKey = await runTool("tools/onering/main.ts", ["--json", "--url", mesh.gatewayUrl, "--admin-key", "admin_wrong_wrong_wrong", "keys", "list"]);
    expect([wrongKey.code, wrongKey.stdout]).toEqual([1, ""]);
    expect(JSON.parse(wrongKey.stderr)).toEqual({
      code: "INVALID_API_KEY",
      message: "invalid admin key",
      recovery: "Check the key for typos; create a new one if it was lost.",
      request_id: expect.stringMatching(/.+/),
    });
    const badInput = await onering("--json", "keys", "create", "--name", "x".repeat(129));
    expect(badInput.code).toBe(1);
    expect(JSON.parse(badInput.stderr)).toMatchObject({ code: "INVALID_ARGUMENT", recovery: expect.any(String), request_id: expect.any(String), violations: [{ field: "name", description: expect.any(String) }] });
    const misuse = await onering("--json", "metrics", "watch", "--interval", "0");
    expect(misuse.code).toBe(2);
    expect(JSON.parse(misuse.stderr)).toMatchObject({ code: "INVALID_ARGUMENT", message: "--interval must be at least 1 second" });
  });
});

// The image context, checked without Docker: the Dockerfile's structure and the
// files it copies, then `npm run build` and the compiled processes started
// with plain `node` (as the image runs them) on the env the manifests give them.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, deleteNatsNamespace, freePort, testNatsUrl } from "../harness/mesh.js";
import { meshProcesses, repoRoot, waitHealthy, type ProcessName } from "../../tools/mesh/processes.js";
import { podContainers, renderKustomization, type K8sObject } from "./kustomize.js";

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === "FROM") {
      const [image, as, name] = args!.split(/\s+/);
      stages.push({ image: image!, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ op: op!.toUpperCase(), args: args! });
    }
  }
  return stages;
}

/** COPY sources from the build context (not from another stage), flags stripped. */
function contextCopies(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.op === "COPY" && !i.args.includes("--from="))
    .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1));
}

/** .dockerignore semantics for the patterns used: last match wins, "!" re-includes, "**" spans folders. */
function dockerIgnored(patterns: string[], file: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, "");
    const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\u0000/g, ".*")}(/.*)?$`);
    if (regex.test(file)) ignored = !negated;
  }
  return ignored;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
const dockerignore = readFileSync(path.join(repoRoot, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string>; dependencies: Record<string, string> };
const finalStage = dockerfile.at(-1)!;
const dist = path.join(repoRoot, "dist");
const dev = renderKustomization(path.join(repoRoot, "deploy", "overlays", "dev"));

describe("Dockerfile", () => {
  it("builds on Node 20 slim in stages and runs as a numeric non-root user", () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile) expect(stage.image).toMatch(/^node:20(\.[\d.]+)?-(bookworm-)?slim$/);
    const users = finalStage.instructions.filter((i) => i.op === "USER");
    expect(users.at(-1)?.args).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it("ships only production dependencies and the compiled JavaScript", () => {
    const copiedFrom = (what: string) => finalStage.instructions.find((i) => i.op === "COPY" && i.args.includes("--from=") && i.args.includes(what));
    const modules = copiedFrom("node_modules")!;
    const depsStage = dockerfile.find((s) => s.name === /--from=(\S+)/.exec(modules.args)![1])!;
    expect(depsStage.instructions.some((i) => i.op === "RUN" && /npm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    const built = copiedFrom("/dist")!;
    const buildStage = dockerfile.find((s) => s.name === /--from=(\S+)/.exec(built.args)![1])!;
    expect(buildStage.instructions.some((i) => i.op === "RUN" && i.args === "npm run build")).toBe(true);
    expect(contextCopies(finalStage).every((src) => !src.endsWith(".ts"))).toBe(true);
    // Its "type": "module" is what makes node load dist/**/*.js as ES modules.
    expect(contextCopies(finalStage)).toContain("package.json");
  });

  it("copies into the build stage everything the build reads, and .dockerignore lets it through", () => {
    const buildStage = dockerfile.find((s) => s.instructions.some((i) => i.args === "npm run build"))!;
    const copied = dockerfile.flatMap(contextCopies);
    for (const src of copied) {
      expect(existsSync(path.join(repoRoot, src)), `${src} exists`).toBe(true);
      expect(dockerIgnored(dockerignore, src.replace(/\/$/, "")), `${src} not in .dockerignore`).toBe(false);
    }
    const buildConfig = JSON.parse(readFileSync(path.join(repoRoot, "tsconfig.build.json"), "utf8")) as { extends: string; include: string[] };
    const script = /^node (\S+)$/.exec(pkg.scripts.build!)![1]!;
    const needed = ["package.json", "package-lock.json", path.normalize(buildConfig.extends), "tsconfig.build.json", script, ...buildConfig.include];
    const buildCopies = contextCopies(buildStage).map((s) => s.replace(/\/$/, ""));
    for (const file of needed) expect(buildCopies.some((src) => file === src || file.startsWith(`${src}/`)), `${file} copied`).toBe(true);
    // Every compiled source file survives .dockerignore.
    for (const dir of buildConfig.include) {
      const files = statSync(path.join(repoRoot, dir)).isDirectory() ? filesUnder(path.join(repoRoot, dir)) : [path.join(repoRoot, dir)];
      for (const f of files.map((f) => path.relative(repoRoot, f))) {
        if (!f.endsWith("drizzle.config.ts")) expect(dockerIgnored(dockerignore, f), f).toBe(false);
      }
    }
  });
});

describe("npm run build", () => {
  const children: ChildProcess[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const natsPrefix = `t${randomBytes(5).toString("hex")}`;

  beforeAll(() => {
    execFileSync("npm", ["run", "build"], { cwd: repoRoot, stdio: "pipe" });
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await database?.drop();
    await deleteNatsNamespace(testNatsUrl, natsPrefix).catch(() => undefined);
  });

  it("emits every entry point the image and the manifests run, with migrations beside each main.js", () => {
    const cmd = finalStage.instructions.find((i) => i.op === "CMD")!;
    const entries = [...(JSON.parse(cmd.args) as string[]), ...dev.flatMap(podContainers).filter((c) => c.image.startsWith("onering-mesh")).map((c) => (c.args as string[]).find((a) => !a.startsWith("--"))!)];
    expect(new Set(entries).size).toBeGreaterThanOrEqual(5);
    for (const entry of entries) expect(existsSync(path.join(repoRoot, entry)), entry).toBe(true);
    for (const service of ["key", "webhook", "metrics"]) {
      const sql = readdirSync(path.join(repoRoot, "services", service, "migrations")).filter((f) => f.endsWith(".sql"));
      expect(readdirSync(path.join(dist, "services", service, "migrations")).filter((f) => f.endsWith(".sql"))).toEqual(sql);
    }
  });

  it("imports no package at run time beyond the production dependencies", () => {
    const imported = new Set<string>();
    // The console's bundle runs in the browser, and has its packages inside it.
    const browserBundle = path.join(dist, "console-dist");
    for (const file of filesUnder(dist).filter((f) => f.endsWith(".js") && !f.startsWith(browserBundle))) {
      // `from "x"`, `import("x")` and bare `import "x"`; relative specifiers are our own files.
      for (const m of readFileSync(file, "utf8").matchAll(/\bfrom\s*"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)|\bimport\s*"([^"]+)"/g)) {
        const spec = (m[1] ?? m[2] ?? m[3])!;
        if (spec.startsWith(".") || spec.startsWith("node:")) continue;
        imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(Object.keys(pkg.dependencies), name).toContain(name);
  });

  /** A container's environment as the dev overlay wires it, secrets filled in. */
  function containerEnv(container: Record<string, any>, secrets: Record<string, string>, overrides: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const ref of container.envFrom ?? []) {
      const cm = dev.find((o: K8sObject) => o.kind === "ConfigMap" && o.metadata.name === ref.configMapRef.name)!;
      Object.assign(env, cm.data);
    }
    for (const e of container.env ?? []) env[e.name] = e.value ?? secrets[e.valueFrom.secretKeyRef.key];
    return { ...env, ...overrides };
  }

  it("migrates with the Job's command and environment, then starts every process with node", async () => {
    database = await createTestDatabase();
    const secrets = { "admin-key": randomBytes(16).toString("hex"), "internal-token": randomBytes(16).toString("hex"), "database-url": database.url };
    const ports = new Map<ProcessName, number>();
    for (const p of meshProcesses) ports.set(p.name, await freePort());
    // The manifests give every pod the same metrics port; on one host each process needs its own.
    const metricsPorts = new Map<ProcessName, number>();
    for (const p of meshProcesses) metricsPorts.set(p.name, await freePort());
    const local = (name: ProcessName) => `http://127.0.0.1:${ports.get(name)}`;
    const overrides = {
      HOST: "127.0.0.1",
      NATS_URL: testNatsUrl,
      ONERING_NATS_PREFIX: natsPrefix,
      ONERING_KEY_SERVICE_URL: local("key"),
      ONERING_WEBHOOK_SERVICE_URL: local("webhook"),
      ONERING_METRICS_SERVICE_URL: local("metrics"),
    };

    const job = dev.find((o) => o.kind === "Job" && o.metadata.name === "onering-migrate")!;
    const [migrate] = podContainers(job);
    execFileSync(process.execPath, migrate!.args, { cwd: repoRoot, env: containerEnv(migrate!, secrets, overrides), stdio: "pipe" });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (const [service, schema] of [["key", "keys"], ["webhook", "webhooks"], ["metrics", "metrics"]]) {
        const files = readdirSync(path.join(repoRoot, "services", service!, "migrations")).filter((f) => f.endsWith(".sql"));
        const { rows } = await client.query(`select count(*)::int as n from drizzle.${schema}_migrations`);
        expect(rows[0].n, schema).toBe(files.length);
      }
    } finally {
      await client.end();
    }

    const started = meshProcesses.map((spec) => {
      const deployment = dev.find((o) => o.kind === "Deployment" && o.metadata.name === spec.name)!;
      const [container] = podContainers(deployment);
      const env = containerEnv(container!, secrets, { ...overrides, PORT: String(ports.get(spec.name)), ONERING_METRICS_PORT: String(metricsPorts.get(spec.name)) });
      const logs: string[] = [];
      const child = spawn(process.execPath, container!.args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
      for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
      children.push(child);
      return { name: spec.name, child, logs };
    });
    for (const { name, child, logs } of started) {
      await waitHealthy(local(name), 60_000, child).catch((err: Error) => {
        throw new Error(`${name}: ${err.message}\n${logs.join("")}`);
      });
      const res = await fetch(`${local(name)}/healthz`);
      expect(res.status, name).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${metricsPorts.get(name)}/metrics`);
      expect(metrics.status, `${name} metrics port`).toBe(200);
      expect(await metrics.text(), name).toContain("process_cpu_seconds_total");
    }
    // The graceful stop Kubernetes relies on: SIGTERM, then a clean exit.
    for (const { name, child } of started) {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited, name).toBe(0);
    }
  });

  it("refuses to migrate without a database URL", () => {
    const env = { PATH: process.env.PATH, ONERING_ADMIN_KEY: "a".repeat(20), ONERING_INTERNAL_TOKEN: "b".repeat(20) };
    let status: number | null = null;
    let stdout = "";
    try {
      execFileSync(process.execPath, ["dist/deploy/migrate.js"], { cwd: repoRoot, env, stdio: "pipe" });
    } catch (err) {
      ({ status } = err as { status: number });
      stdout = String((err as { stdout: Buffer }).stdout);
    }
    expect(status).toBe(1);
    expect(stdout).toContain("DATABASE_URL");
  });
});

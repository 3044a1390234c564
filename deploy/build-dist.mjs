// `npm run build`: compiles services/, gen/ and the migrations entry to dist/
// with tsc, then copies each service's migrations folder next to its compiled
// main.js, where main.ts looks for it (new URL("./migrations", import.meta.url)),
// and bundles the web console into dist/console-dist, which the gateway serves.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./build-console.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = path.join(root, "dist");
// Built aside and swapped in whole, so a process started from dist/ meanwhile
// (another build's, say `npm start` beside the tests) never finds it half
// there; a fresh folder also keeps a stale file of a deleted source out.
const fresh = path.join(root, `dist.building-${process.pid}`);
const old = path.join(root, `dist.old-${process.pid}`);

// Bundling the console takes seconds; one built from the same inputs (its
// sources, what they import from the tree, the locked packages, the bundler
// settings) is copied from the previous build, so a warm `npm start` stays fast.
const consoleInputs = ["console", "gen", "services/shared/errors.ts", "package-lock.json", "deploy/build-console.mjs"];
const stampName = "console-dist.stamp";

function filesOf(rel) {
  const full = path.join(root, rel);
  return statSync(full).isDirectory() ? readdirSync(full).flatMap((name) => filesOf(path.join(rel, name))) : [rel];
}

function consoleStamp() {
  const hash = createHash("sha256");
  for (const file of consoleInputs.flatMap(filesOf).sort()) hash.update(file).update("\0").update(readFileSync(path.join(root, file))).update("\0");
  return hash.digest("hex");
}

async function bundleConsole(into) {
  const stamp = consoleStamp();
  const previous = path.join(dist, "console-dist");
  const previousStamp = path.join(dist, stampName);
  if (existsSync(previous) && existsSync(previousStamp) && readFileSync(previousStamp, "utf8") === stamp) cpSync(previous, path.join(into, "console-dist"), { recursive: true });
  else await buildConsole(path.join(into, "console-dist"));
  writeFileSync(path.join(into, stampName), stamp);
}

rmSync(fresh, { recursive: true, force: true });
execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "tsconfig.build.json"), "--outDir", fresh], { stdio: "inherit" });
for (const service of readdirSync(path.join(root, "services"))) {
  const migrations = path.join(root, "services", service, "migrations");
  if (existsSync(migrations)) cpSync(migrations, path.join(fresh, "services", service, "migrations"), { recursive: true });
}
await bundleConsole(fresh);
if (existsSync(dist)) renameSync(dist, old);
renameSync(fresh, dist);
rmSync(old, { recursive: true, force: true });

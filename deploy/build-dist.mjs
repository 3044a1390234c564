// `npm run build`: compiles services/, gen/ and the migrations entry to dist/
// with tsc, then copies each service's migrations folder next to its compiled
// main.js, where main.ts looks for it (new URL("./migrations", import.meta.url)),
// and bundles the web console into dist/console-dist, which the gateway serves.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, renameSync, rmSync } from "node:fs";
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

rmSync(fresh, { recursive: true, force: true });
execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "tsconfig.build.json"), "--outDir", fresh], { stdio: "inherit" });
for (const service of readdirSync(path.join(root, "services"))) {
  const migrations = path.join(root, "services", service, "migrations");
  if (existsSync(migrations)) cpSync(migrations, path.join(fresh, "services", service, "migrations"), { recursive: true });
}
await buildConsole(path.join(fresh, "console-dist"));
if (existsSync(dist)) renameSync(dist, old);
renameSync(fresh, dist);
rmSync(old, { recursive: true, force: true });

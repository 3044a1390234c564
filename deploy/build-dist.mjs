// `npm run build`: compiles services/, gen/ and the migrations entry to dist/
// with tsc, then copies each service's migrations folder next to its compiled
// main.js, where main.ts looks for it (new URL("./migrations", import.meta.url)).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = path.join(root, "dist");

// A stale file from a deleted source must not ship.
rmSync(dist, { recursive: true, force: true });
execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });

for (const service of readdirSync(path.join(root, "services"))) {
  const migrations = path.join(root, "services", service, "migrations");
  if (existsSync(migrations)) cpSync(migrations, path.join(dist, "services", service, "migrations"), { recursive: true });
}

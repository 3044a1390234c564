// Every metric the shipped alert rules read is one the services export.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "../../tools/mesh/processes.js";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith(".ts") ? [full] : [];
  });
}

it("alert rules only use metrics that the services define", () => {
  const rules = readFileSync(path.join(repoRoot, "deploy/base/monitoring.yaml"), "utf8");
  const used = new Set([...rules.matchAll(/\b(onering_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, "")));
  expect(used.size).toBeGreaterThan(3);
  const code = sources(path.join(repoRoot, "services")).map((f) => readFileSync(f, "utf8")).join("\n");
  for (const metric of used) expect(code, `${metric} is not defined by any service`).toContain(`name: "${metric}"`);
});

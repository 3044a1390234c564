// gen/ is committed; this fails when it no longer matches the protos.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { repoRoot } from "../../tools/mesh/processes.js";

const out = mkdtempSync(path.join(tmpdir(), "onering-gen-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full).map((f) => path.join(name, f)) : [name];
  });
}

it("gen/ is what `npm run generate` produces", () => {
  execFileSync(path.join(repoRoot, "node_modules/.bin/buf"), ["generate", "-o", out], { cwd: repoRoot });
  const fresh = path.join(out, "gen");
  const committed = path.join(repoRoot, "gen");
  expect(files(committed).sort()).toEqual(files(fresh).sort());
  for (const file of files(fresh)) {
    expect(readFileSync(path.join(committed, file), "utf8"), `gen/${file} is stale: run npm run generate`).toBe(
      readFileSync(path.join(fresh, file), "utf8"),
    );
  }
});

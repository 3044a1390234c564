// The gateway's OpenAPI document passes redocly's `recommended` ruleset with
// no error and no warning (licence, servers, operation ids, 4xx responses, …).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { gatewayOpenApiInfo } from "../../services/gateway/openapiInfo.js";
import { openApiDocument } from "../../services/shared/transcoding/openapi.js";
import { RouteTable } from "../../services/shared/transcoding/routeTable.js";
import { repoRoot } from "../../tools/mesh/processes.js";

const dir = mkdtempSync(path.join(tmpdir(), "onering-openapi-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("passes redocly lint --extends recommended", async () => {
  const file = path.join(dir, "openapi.json");
  writeFileSync(file, JSON.stringify(openApiDocument(new RouteTable([GatewayService]), gatewayOpenApiInfo)));
  const { stdout } = await promisify(execFile)(path.join(repoRoot, "node_modules/.bin/redocly"), ["lint", "--extends", "recommended", "--format", "json", file], {
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
  const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
  expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
  expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
}, 60_000);

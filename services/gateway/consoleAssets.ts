// Serves the web console's built files at /console (deploy/build-console.mjs
// builds them into console-dist/ beside services/). Everything is same-origin
// and the policy forbids inline code and other hosts, so an injected string
// cannot run script or send a pasted key anywhere.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { meshError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { AnyRequest, AnyResponse } from "../shared/server.js";
import { acceptRequestId, requestIdHeader } from "../shared/requestId.js";
import { errorResponse } from "../shared/transcoding/errorResponse.js";

export const consolePath = "/console";

const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

interface Asset {
  body: Buffer;
  type: string;
}

function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = path.posix.join(sub, name);
      if (statSync(path.join(dir, rel)).isDirectory()) walk(rel);
      else assets.set(`/${rel}`, { body: readFileSync(path.join(dir, rel)), type: contentTypes[path.extname(name)] ?? "application/octet-stream" });
    }
  };
  walk("");
  return assets;
}

/** Read once: the bundle is small and fixed for the life of the process. */
function loadAssets(dir: string, logger: Logger): Map<string, Asset> {
  if (!existsSync(dir)) return new Map();
  try {
    return readAssets(dir);
  } catch (err) {
    // A build replacing the folder this very moment; the API itself does not depend on it.
    logger.warn({ err, dir }, "console files unreadable; /console answers 404");
    return new Map();
  }
}

/** The console's handler for serve()'s httpHandler chain; false for any other path. */
export function consoleHandler(logger: Logger, dir = fileURLToPath(new URL("../../console-dist", import.meta.url))) {
  const assets = loadAssets(dir, logger);
  return (req: AnyRequest, res: AnyResponse, accepted?: string): boolean => {
    const url = req.url ?? "";
    // Every gateway request passes here first: the API's are turned away before any splitting.
    if (!url.startsWith(consolePath)) return false;
    const pathname = url.split("?")[0]!;
    if (pathname !== consolePath && !pathname.startsWith(`${consolePath}/`)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const requestId = accepted ?? acceptRequestId(req.headers[requestIdHeader]);
    res.setHeader(requestIdHeader, requestId);
    if (pathname === consolePath) {
      res.writeHead(308, { location: `${consolePath}/${url.slice(pathname.length)}` });
      res.end();
      return true;
    }
    const file = assets.get(pathname.slice(consolePath.length));
    // Any other path under /console is a page of the single-page app.
    const asset = file ?? assets.get("/index.html");
    if (asset === undefined) {
      const { status, body } = errorResponse(meshError("NOT_FOUND", "the console is not built: run npm run build"), requestId);
      res.writeHead(status, { "content-type": "application/json", ...securityHeaders });
      res.end(JSON.stringify(body));
      return true;
    }
    res.writeHead(200, {
      "content-type": asset.type,
      "content-length": asset.body.length,
      // Bundles have content-hashed names; the page itself must be fetched fresh to pick up a new build.
      "cache-control": file && pathname.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      ...securityHeaders,
    });
    if (req.method === "HEAD") res.end();
    else res.end(asset.body);
    return true;
  };
}

// Bundles the web console (console/, Preact + uPlot + connect-web) with Vite
// into static files the gateway serves at /console. `npm run build` puts them
// in dist/console-dist; the browser tests (running the TypeScript source) in
// console-dist/. Run alone: node deploy/build-console.mjs [outDir].
import { existsSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "vite";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Builds the console into outDir, replacing what was there. */
export async function buildConsole(outDir = path.join(root, "console-dist")) {
  // Built aside and swapped in whole, so a gateway starting meanwhile (another
  // test file's) never reads a half-written folder.
  const fresh = `${outDir}.building-${process.pid}`;
  const old = `${outDir}.old-${process.pid}`;
  await build({
    configFile: false,
    root: path.join(root, "console"),
    base: "/console/",
    logLevel: "warn",
    esbuild: { jsx: "automatic", jsxImportSource: "preact" },
    build: {
      outDir: fresh,
      emptyOutDir: true,
      // Files, never data: URIs or inline code, so the CSP can stay 'self' only.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
    },
  });
  if (existsSync(outDir)) renameSync(outDir, old);
  renameSync(fresh, outDir);
  rmSync(old, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await buildConsole(process.argv[2] && path.resolve(process.argv[2]));

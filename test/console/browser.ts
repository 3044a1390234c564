// Debian's Chromium (apt-get install chromium; .ci/run installs it) driven by
// playwright-core, headless, with a fresh profile and none of its background
// traffic (this machine's network is closed; those connections only fail).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const chromiumPath = process.env.TEST_CHROMIUM ?? "/usr/bin/chromium";
export const screenshotDir = path.resolve("test-results", "console");

const flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Browser {
  context: BrowserContext;
  /** A new tab: its own sessionStorage, so one signed-in role per tab. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** Saves a PNG under test-results/console/. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Page errors and console errors (a CSP violation among them) seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), "onering-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: flags, viewport: { width: 1280, height: 800 } });
  await mkdir(screenshotDir, { recursive: true });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
    });
    return page;
  };
  return {
    context,
    errors,
    async newPage(viewport = { width: 1280, height: 800 }) {
      const page = watch(await context.newPage());
      await page.setViewportSize(viewport);
      return page;
    },
    async screenshot(page, name) {
      const file = path.join(screenshotDir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

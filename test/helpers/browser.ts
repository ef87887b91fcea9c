// Debian's Chromium through playwright-core (which downloads no browser), with a fresh profile per run, and the
// console served from a test context on a loopback port.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { TestContext } from './context.js';

const CHROMIUM = '/usr/bin/chromium';

export interface ConsoleBrowser {
  readonly origin: string;
  readonly page: Page;
  readonly browser: BrowserContext;
  /** Saves a full-page screenshot (under AIRLOCK_CONSOLE_SCREENSHOTS when set, to look at them). */
  shot(name: string): Promise<unknown>;
  /** Signs in with `adminKey` unless this tab's session still holds a key. */
  signIn(adminKey: string): Promise<void>;
  close(): Promise<void>;
}

export async function openConsoleBrowser(ctx: TestContext, viewport = { width: 1280, height: 860 }): Promise<ConsoleBrowser> {
  const server: Server = ctx.app.listen(0, '127.0.0.1');
  await new Promise<void>((done) => server.once('listening', () => done()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = mkdtempSync(join(tmpdir(), 'airlock-chromium-'));
  const shots = process.env['AIRLOCK_CONSOLE_SCREENSHOTS'] === undefined ? join(profile, 'shots') : resolve(process.env['AIRLOCK_CONSOLE_SCREENSHOTS']);
  mkdirSync(shots, { recursive: true });
  // A fresh profile per run (playwright passes it to Chromium as --user-data-dir).
  const browser = await chromium.launchPersistentContext(join(profile, 'data'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  return {
    origin,
    page,
    browser,
    shot: (name) => page.screenshot({ path: join(shots, `console-${name}.png`), fullPage: true }),
    async signIn(adminKey) {
      await page.goto(`${origin}/console`);
      // The module has run by the load event: either the key is still in this tab's session, or the form shows.
      if (await page.getByRole('navigation', { name: 'Sections' }).isVisible()) return;
      await page.getByLabel('Admin API key').fill(adminKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    },
    async close() {
      await browser.close();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

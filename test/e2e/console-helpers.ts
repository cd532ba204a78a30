// Shared steps of the console's browser tests: open the console in Debian's Chromium, sign in,
// save screenshots under test-results/console/ (ignored by git).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { launchBrowser } from '../harness/browser.js';
import type { Cleanup, TestControlPlane } from '../harness/control-plane.js';

export const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'console');

export async function openConsole(t: Cleanup, h: TestControlPlane): Promise<Page> {
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('dialog', (d) => void d.accept()); // the console confirms deletions with confirm()
  await page.goto(`https://${h.hostPort}/console/`);
  return page;
}

export async function signIn(page: Page, h: TestControlPlane): Promise<void> {
  await page.getByLabel('AccessKeyId').fill(h.key.accessKeyId);
  await page.getByLabel('AccessKeySecret').fill(h.key.accessKeySecret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'Run command', selected: true }).waitFor();
}

/** A tab's panel (hidden panels hold fields with the same labels). */
export function panel(page: Page, tab: string): Locator {
  return page.getByRole('tabpanel', { name: tab });
}

export async function openTab(page: Page, tab: string): Promise<Locator> {
  await page.getByRole('tab', { name: tab }).click();
  const p = panel(page, tab);
  await p.waitFor();
  return p;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Helpers that drive the studio the way a user does: drag from the palette, connect handles
 * with the mouse, read node state from the DOM. Tests read like the steps in the issue.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const SCREENSHOT_DIR = fileURLToPath(new URL('./screenshots/', import.meta.url));

/** Why the e2e tests cannot run here (set by the global setup), or undefined. */
export const unavailable = (): string | undefined => process.env.E2E_UNAVAILABLE;

export function baseUrl(): string {
  const url = process.env.E2E_BASE_URL;
  if (!url)
    throw new Error('E2E_BASE_URL is not set: run with --config editor/e2e/vitest.config.ts');
  return url;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** A 1280x800 page (the size the issue asks the studio to read well at) that fails on page errors. */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return page;
}

/** Fills the studio's sign-in form and submits it. */
export async function signIn(
  page: Page,
  user: { username: string; password: string },
): Promise<void> {
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png` });
}

export function node(page: Page, id: string): Locator {
  return page.locator(`.react-flow__node[data-id="${id}"]`);
}

/** The node's run status as drawn (`idle` before any run). */
export function nodeStatus(page: Page, id: string): Promise<string | null> {
  return node(page, id).locator('.graph-node').getAttribute('data-status');
}

export function handle(
  page: Page,
  nodeId: string,
  portId: string,
  kind: 'source' | 'target',
): Locator {
  return page.locator(
    `.react-flow__node[data-id="${nodeId}"] .react-flow__handle.${kind}[data-handleid="${portId}"]`,
  );
}

/** Drags a node type from the palette onto the canvas at a point inside it. */
export async function dropNode(page: Page, type: string, x: number, y: number): Promise<void> {
  await page
    .getByTestId(`palette-${type}`)
    .dragTo(page.getByTestId('canvas'), { targetPosition: { x, y } });
}

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('element is not visible');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/**
 * Drags a connection from an output handle to an input handle with the mouse. `hold` keeps
 * the button down at the end (to look at the refusal) and returns the release function.
 */
export async function connect(
  page: Page,
  from: [nodeId: string, port: string],
  to: [nodeId: string, port: string],
  options: { hold?: boolean } = {},
): Promise<() => Promise<void>> {
  const start = await centre(handle(page, from[0], from[1], 'source'));
  const end = await centre(handle(page, to[0], to[1], 'target'));
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(end.x, end.y, { steps: 15 });
  const release = () => page.mouse.up();
  if (!options.hold) await release();
  return release;
}

/** Closes every toast (so screenshots show the screen, not old notices). */
export async function dismissToasts(page: Page): Promise<void> {
  const buttons = page
    .getByRole('region', { name: 'Notifications' })
    .getByRole('button', { name: 'Dismiss' });
  while ((await buttons.count()) > 0) await buttons.first().click();
}

export async function edgeCount(page: Page): Promise<number> {
  return page.locator('.react-flow__edge').count();
}

/** Fetches JSON from the server under test (setting up or checking what the UI did). */
export async function apiJson<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${baseUrl()}${path}`, init);
  if (!response.ok)
    throw new Error(
      `${init?.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`,
    );
  return (await response.json()) as T;
}

/**
 * Accounts in the studio, end to end in real Chromium: a second server with LAB_AUTH=on and a
 * first admin from LAB_ADMIN_USERNAME/LAB_ADMIN_PASSWORD. The admin signs in and makes an
 * invite link; Bob accepts it in his own browser context, does not see the admin's workflow,
 * makes a token that is shown once and signs out; an ended session brings the sign-in page
 * back and returns to the same page. The global server (accounts off) shows no sign-in.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { baseUrl, launchBrowser, openPage, screenshot, signIn, unavailable } from './harness';
import { REPO_ROOT, startStudioServer, type StudioServer } from './server';

const skip = unavailable();

const ADMIN = { username: 'ada', password: 'ada-long-password-1' };
const BOB = { username: 'bob', password: 'bob-long-password-2' };
const SECRET_WORKFLOW = 'Ada’s secret film';
/** Two cores shared with other work: scrypt and page loads may take seconds. */
const POLL = { timeout: 30_000 };

async function openAccountMenu(page: Page): Promise<void> {
  await page.getByTestId('account-menu').click();
  await page.getByRole('menu').waitFor();
}

describe.skipIf(skip)('accounts', () => {
  let server: StudioServer;
  let browser: Browser;
  let admin: Page;
  let bob: Page;
  let inviteUrl: string;
  let adminWorkflowId: string;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await startStudioServer({
      log: !!process.env.E2E_SERVER_LOG,
      env: {
        LAB_AUTH: 'on',
        LAB_ADMIN_USERNAME: ADMIN.username,
        LAB_ADMIN_PASSWORD: ADMIN.password,
      },
    });
    browser = await launchBrowser();
    admin = await openPage(browser, errors);
    bob = await openPage(browser, errors);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('asks the admin to sign in before loading anything, and names a wrong password', async () => {
    const apiCalls: string[] = [];
    admin.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/api/')) apiCalls.push(path);
    });
    await admin.goto(`${server.url}/#/workflows`);
    await admin.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    // Nothing but "who am I" before a sign-in: no burst of 401s.
    expect(apiCalls).toEqual(['/api/auth/me']);
    expect(await admin.locator('.app__header').count()).toBe(0);

    await signIn(admin, { username: ADMIN.username, password: 'not-the-password' });
    await admin.getByText('do not match an active account').waitFor();
    // Focus goes to the field to fix.
    expect(await admin.evaluate(() => document.activeElement?.getAttribute('name'))).toBe(
      'password',
    );
    await screenshot(admin, 'accounts-sign-in-error');

    await signIn(admin, ADMIN);
    await admin.getByRole('heading', { level: 1, name: 'Workflows' }).waitFor();
    await expect
      .poll(async () => admin.getByTestId('account-menu').innerText(), POLL)
      .toMatch(/ada\s*admin/);
  });

  it('lets the admin make an invite link on the users page', async () => {
    const graph = JSON.parse(
      readFileSync(`${REPO_ROOT}workflows/character-short.json`, 'utf8'),
    ) as Record<string, unknown>;
    // A workflow of Ada's, saved from her page (her cookie, the studio's Origin).
    adminWorkflowId = await admin.evaluate(
      async ({ graph, name }) => {
        const response = await fetch('/api/workflows', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, graph: { ...graph, name } }),
        });
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        const body = (await response.json()) as { id?: string; workflow?: { id: string } };
        return body.workflow?.id ?? body.id!;
      },
      { graph, name: SECRET_WORKFLOW },
    );
    await admin.reload();
    await admin.getByText(SECRET_WORKFLOW).waitFor();

    await openAccountMenu(admin);
    await admin.getByRole('menuitem', { name: 'Users' }).click();
    await admin.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await admin.getByTestId('user-ada').waitFor();
    await admin.getByRole('button', { name: 'Make invite link' }).click();
    const shown = admin.getByTestId('invite-url');
    await shown.waitFor();
    inviteUrl = await shown.locator('input').inputValue();
    expect(inviteUrl).toMatch(new RegExp(`^${server.url}/invite/clab_inv_`));
    expect(await shown.innerText()).toMatch(/will not be shown again/);
    await expect
      .poll(async () => admin.getByTestId('invite-list').locator('tbody tr').count(), POLL)
      .toBe(1);
    await screenshot(admin, 'accounts-users-invite');
  });

  it('lets Bob accept the invite in his own browser and see only his own things', async () => {
    await bob.goto(inviteUrl);
    await expect
      .poll(async () => bob.getByTestId('invite-offer').innerText(), POLL)
      .toMatch(/a member/);
    await bob.getByLabel('Username').fill(BOB.username);
    await bob.getByLabel('Password', { exact: true }).fill(BOB.password);
    await bob.getByLabel('Repeat the password').fill('a different password');
    await bob.getByRole('button', { name: 'Create account and sign in' }).click();
    await bob.getByText('The two passwords differ.').waitFor();
    await bob.getByLabel('Repeat the password').fill(BOB.password);
    await bob.getByRole('button', { name: 'Create account and sign in' }).click();

    await bob.getByRole('heading', { level: 1, name: 'Workflows' }).waitFor();
    expect(new URL(bob.url()).pathname).toBe('/');
    await expect
      .poll(async () => bob.getByTestId('account-menu').innerText(), POLL)
      .toMatch(/bob\s*member/);
    await bob.getByText('No workflows yet').waitFor();
    expect(await bob.getByText(SECRET_WORKFLOW).count()).toBe(0);
    // Not by its id either: another user's workflow is missing, not forbidden.
    await bob.goto(`${server.url}/#/w/${adminWorkflowId}`);
    const status = await bob.evaluate(
      async (id) => (await fetch(`/api/workflows/${id}`)).status,
      adminWorkflowId,
    );
    expect(status).toBe(404);
    // Bob is not an admin: no Users entry.
    await openAccountMenu(bob);
    expect(await bob.getByRole('menuitem', { name: 'Users' }).count()).toBe(0);
    await bob.keyboard.press('Escape');

    // The used link says so.
    const other = await openPage(browser, errors);
    await other.goto(inviteUrl);
    await other.getByTestId('invite-gone').waitFor();
    await other.context().close();
  });

  it('shows Bob a new token once, and the token works', async () => {
    await openAccountMenu(bob);
    await bob.getByRole('menuitem', { name: 'Tokens' }).click();
    await bob.getByRole('heading', { level: 2, name: 'Personal API tokens' }).waitFor();
    await bob.getByLabel('Token name').fill('laptop CLI');
    await bob.getByRole('button', { name: 'Make token' }).click();
    const made = bob.getByTestId('made-token');
    await made.waitFor();
    const token = await made.locator('input').inputValue();
    expect(token).toMatch(/^clab_pat_/);
    expect(await made.innerText()).toMatch(/will not be shown again/);
    await screenshot(bob, 'accounts-token-made');

    const me = await fetch(`${server.url}/api/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe('bob');

    await bob.reload();
    await bob.getByTestId('token-list').getByText('laptop CLI').waitFor();
    expect(await bob.getByTestId('made-token').count()).toBe(0);
    expect(await bob.content()).not.toContain(token);
  });

  it('shows Bob on the admin’s users page', async () => {
    await admin.reload();
    const row = admin.getByTestId('user-bob');
    await row.waitFor();
    expect(await row.getByLabel('Role of bob').inputValue()).toBe('member');
    expect(await row.innerText()).toMatch(/active/);
    // The last admin cannot be demoted: the server's refusal is shown.
    await admin.getByTestId('user-ada').getByLabel('Role of ada').selectOption('member');
    await expect
      .poll(async () => admin.getByTestId('users-problem').innerText(), POLL)
      .toMatch(/last enabled admin.*last_admin/);
    expect(await admin.getByTestId('user-ada').getByLabel('Role of ada').inputValue()).toBe(
      'admin',
    );
    await screenshot(admin, 'accounts-users');
  });

  it('signs Bob out to the sign-in page', async () => {
    await openAccountMenu(bob);
    await bob.getByRole('menuitem', { name: 'Sign out' }).click();
    await bob.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await bob.getByText('You are signed out.').waitFor();
    const status = await bob.evaluate(async () => (await fetch('/api/workflows')).status);
    expect(status).toBe(401);
  });

  it('brings an ended session back to sign-in, then to the same page', async () => {
    await admin.goto(`${server.url}/#/characters`);
    await admin.getByRole('heading', { level: 1, name: 'Characters' }).first().waitFor();
    // The session ends behind the page's back (expiry, or a sign-out in another tab).
    await admin.context().clearCookies();
    await admin.getByRole('link', { name: 'Templates' }).click();
    await admin.getByText('Your session ended').waitFor();
    expect(admin.url()).toContain('#/templates');
    await signIn(admin, ADMIN);
    await admin.getByRole('heading', { level: 1, name: 'Templates' }).first().waitFor();
    expect(admin.url()).toContain('#/templates');
  });

  it('keeps a studio without accounts free of any sign-in', async () => {
    const page = await openPage(browser, errors);
    await page.goto(`${baseUrl()}/#/workflows`);
    await page.getByRole('heading', { level: 1, name: 'Workflows' }).waitFor();
    expect(await page.getByRole('heading', { level: 1, name: 'Sign in' }).count()).toBe(0);
    expect(await page.getByTestId('account-menu').count()).toBe(0);
    await page.context().close();
    expect(errors).toEqual([]);
  });
});

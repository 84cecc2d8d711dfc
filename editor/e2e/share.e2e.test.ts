/**
 * Share links end to end in real Chromium, on a second server with accounts on (LAB_AUTH=on):
 * Alice (the first admin) shares a workflow that uses her own character from the studio's
 * Share dialog; Bob, in his own browser context and signed out, opens the link and sees the
 * graph in a canvas he cannot edit; "Sign in to import a copy" signs him in and opens his copy
 * in the studio, where Alice's character is a problem that names it. Revoking the link ends it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn, unavailable } from './harness';
import { REPO_ROOT, startStudioServer, type StudioServer } from './server';

const skip = unavailable();

const ALICE = { username: 'alice', password: 'alice-long-password-1' };
const BOB = { username: 'bob', password: 'bob-long-password-2' };
const NAME = 'Mira on the ridge';

describe.skipIf(skip)('share links', () => {
  let server: StudioServer;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let workflowId: string;
  let shareUrl: string;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await startStudioServer({
      log: !!process.env.E2E_SERVER_LOG,
      env: {
        LAB_AUTH: 'on',
        LAB_ADMIN_USERNAME: ALICE.username,
        LAB_ADMIN_PASSWORD: ALICE.password,
      },
    });
    browser = await launchBrowser();
    alice = await openPage(browser, errors);
    bob = await openPage(browser, errors);

    await alice.goto(`${server.url}/#/workflows`);
    await signIn(alice, ALICE);
    await alice.getByRole('heading', { name: 'Workflows', exact: true }).waitFor();
    const graph = JSON.parse(
      readFileSync(`${REPO_ROOT}workflows/character-short.json`, 'utf8'),
    ) as { nodes: { type: string; params: Record<string, unknown> }[] };
    // Alice's own character (a plain picture: a style reference) and a workflow using it,
    // made from her page (her cookie, the studio's Origin); Bob is a member she adds.
    workflowId = await alice.evaluate(
      async ({ graph, name, bob }) => {
        const send = async (path: string, init: RequestInit) => {
          const response = await fetch(path, init);
          if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
          return (await response.json()) as { id: string };
        };
        const canvas = document.createElement('canvas');
        canvas.width = 64;
        canvas.height = 64;
        const paint = canvas.getContext('2d')!;
        paint.fillStyle = '#b04040';
        paint.fillRect(0, 0, 64, 64);
        const png = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!)));
        const form = new FormData();
        form.append('name', 'Mira');
        form.append('images', png, 'mira.png');
        const character = await send('/api/characters', { method: 'POST', body: form });
        for (const node of graph.nodes) {
          if (node.type === 'character-loader') node.params.characterId = character.id;
        }
        await send('/api/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...bob, role: 'member' }),
        });
        const workflow = await send('/api/workflows', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ graph: { ...graph, name } }),
        });
        return workflow.id;
      },
      { graph, name: NAME, bob: BOB },
    );
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('makes a link from the Share dialog and lists it', async () => {
    await alice.goto(`${server.url}/#/w/${workflowId}`);
    await alice.getByTestId('open-share').click();
    await alice.getByTestId('share-expiry').selectOption('7');
    await alice.getByTestId('create-share').click();
    const url = alice.getByTestId('share-url');
    await url.waitFor();
    shareUrl = await url.inputValue();
    expect(shareUrl).toMatch(new RegExp(`^${server.url}/s/clab_shr_[0-9a-f]{16}_[0-9a-f]{64}$`));
    await expect.poll(() => alice.getByTestId('share-item').count()).toBe(1);
    expect(await alice.getByTestId('share-item').innerText()).toMatch(/expires in [67] days/);
    await screenshot(alice, 'share-dialog');
  });

  it('shows the link to someone signed out in a canvas they cannot edit', async () => {
    await bob.goto(shareUrl);
    await bob.getByTestId('share-page').waitFor();
    expect(await bob.getByTestId('shared-name').innerText()).toBe(NAME);
    expect(await bob.getByTestId('shared-by').innerText()).toBe('alice');
    const graph = JSON.parse(
      readFileSync(`${REPO_ROOT}workflows/character-short.json`, 'utf8'),
    ) as { nodes: unknown[]; edges: unknown[] };
    await expect.poll(() => bob.locator('.react-flow__node').count()).toBe(graph.nodes.length);
    await expect.poll(() => bob.locator('.react-flow__edge').count()).toBe(graph.edges.length);
    // Nothing to drag, connect, pick or delete; no palette, no inspector.
    expect(await bob.locator('.react-flow__node.draggable').count()).toBe(0);
    expect(await bob.locator('.react-flow__node.selectable').count()).toBe(0);
    expect(await bob.locator('.react-flow__handle.connectable').count()).toBe(0);
    expect(await bob.locator('[data-testid^="palette-"]').count()).toBe(0);
    // A drag may pan the view, but the node keeps its place in the graph (its transform).
    const first = bob.locator('.react-flow__node').first();
    const before = await first.getAttribute('style');
    const box = (await first.boundingBox())!;
    await bob.mouse.move(box.x + box.width / 2, box.y + 12);
    await bob.mouse.down();
    await bob.mouse.move(box.x + box.width / 2 + 150, box.y + 120, { steps: 6 });
    await bob.mouse.up();
    expect(await first.getAttribute('style')).toBe(before);
    await screenshot(bob, 'share-page');
  });

  it('signs in to import a copy that names the character it could not bring', async () => {
    await bob.getByTestId('import-copy').click();
    await bob.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(bob, BOB);
    await bob.waitForURL(/\/#\/w\/wf_/);
    const copyId = decodeURIComponent(new URL(bob.url()).hash.replace('#/w/', ''));
    expect(copyId).not.toBe(workflowId);
    await bob.getByTestId('problems-badge').click();
    await bob
      .getByText('this graph was shared without its character "Mira": pick one of yours', {
        exact: false,
      })
      .first()
      .waitFor();
    await screenshot(bob, 'share-imported');
  });

  it('stops working once revoked', async () => {
    await alice.getByTestId('revoke-share').click();
    await expect.poll(() => alice.getByTestId('share-item').innerText()).toMatch(/revoked/);
    const other = await openPage(browser, errors);
    await other.goto(shareUrl);
    await other.getByText('This link does not work any more').waitFor();
    expect(errors).toEqual([]);
  });
});

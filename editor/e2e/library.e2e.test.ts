/**
 * The studio's other screens end to end: the template gallery instantiating with exposed
 * values, importing a file saved by an older version (migrated), and the characters page
 * (create with reference images, edit, delete with confirm).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { GraphDocument } from '../../engine/graph/document';
import {
  apiJson,
  dismissToasts,
  baseUrl,
  launchBrowser,
  node,
  openPage,
  screenshot,
  unavailable,
} from './harness';
import { REPO_ROOT } from './server';

const skip = unavailable();

describe.skipIf(skip)('library screens', () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await openPage(browser, errors);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('instantiates a template with its exposed values', async () => {
    await page.goto(`${baseUrl()}/#/templates`);
    await page.getByTestId('use-template-character-short').click();
    const dialog = page.getByRole('dialog', { name: /New from/ });
    await dialog
      .getByTestId('field-script.text')
      .locator('textarea')
      .fill('Theo opens the door. Light floods in.');
    await dialog.getByTestId('field-story.shots').locator('input').fill('2');
    await screenshot(page, 'template-values');
    await dialog.getByTestId('instantiate').click();
    await expect.poll(() => page.url(), { timeout: 20_000 }).toMatch(/#\/w\/wf/);
    const id = /#\/w\/([^/]+)/.exec(page.url())![1];
    await expect.poll(() => node(page, 'merge').isVisible()).toBe(true);
    const saved = await apiJson<{ graph: GraphDocument }>(`/api/workflows/${id}`);
    expect(saved.graph.nodes.find((n) => n.id === 'script')!.params.text).toBe(
      'Theo opens the door. Light floods in.',
    );
    expect(saved.graph.nodes.find((n) => n.id === 'story')!.params.shots).toBe(2);
    await dismissToasts(page);
    await screenshot(page, 'studio-from-template');
  });

  it('imports a file saved by an older version and says it was migrated', async () => {
    const old = readFileSync(
      `${REPO_ROOT}engine/graph/fixtures/migrations/document/0001-edges-and-params.before.json`,
    );
    await page.goto(`${baseUrl()}/#/workflows`);
    await page.getByRole('button', { name: 'Import…' }).click();
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'old.json', mimeType: 'application/json', buffer: old });
    await expect.poll(() => page.url(), { timeout: 20_000 }).toMatch(/#\/w\/wf/);
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'migrated' }).count())
      .toBeGreaterThan(0);
    await page.goto(`${baseUrl()}/#/workflows`);
    await expect
      .poll(() => page.getByTestId('workflow-list').locator('li').count())
      .toBeGreaterThan(1);
    await dismissToasts(page);
    await screenshot(page, 'workflows');
  });

  it('creates a character from reference images, edits it and deletes it after a confirm', async () => {
    const mira = await apiJson<{ referenceImages: { id: string }[] }>('/api/characters/demo-mira');
    const image = Buffer.from(
      await (await fetch(`${baseUrl()}/api/artifacts/${mira.referenceImages[0].id}`)).arrayBuffer(),
    );

    await page.goto(`${baseUrl()}/#/characters`);
    await page.getByTestId('new-character').click();
    const form = page.getByRole('form', { name: 'New character' });
    await form.getByLabel('Name', { exact: true }).fill('Theo');
    await form.getByLabel('Description').fill('tall, green coat, short dark hair');
    await form.getByLabel('Trigger word').fill('th30');
    await form.getByLabel('LoRA name').fill('theo_v1');
    await form.getByLabel('LoRA weight').fill('7');
    await expect.poll(() => form.getByText('between -5 and 5').isVisible()).toBe(true);
    await form.getByLabel('LoRA weight').fill('0.7');
    await form.getByTestId('character-images').setInputFiles([
      { name: 'theo-1.png', mimeType: 'image/png', buffer: image },
      { name: 'theo-2.png', mimeType: 'image/png', buffer: image },
    ]);
    await expect.poll(() => form.locator('.image-strip img').count()).toBe(2);
    await dismissToasts(page);
    await screenshot(page, 'character-new');
    await form.getByTestId('save-character').click();

    await expect.poll(() => page.url(), { timeout: 20_000 }).toMatch(/#\/characters\/char/);
    const id = /#\/characters\/([^/]+)/.exec(page.url())![1];
    const created = await apiJson<{
      name: string;
      lora: { name: string; weight: number };
      referenceImages: unknown[];
      triggerWord: string;
    }>(`/api/characters/${id}`);
    expect(created).toMatchObject({
      name: 'Theo',
      triggerWord: 'th30',
      lora: { name: 'theo_v1', weight: 0.7 },
    });
    expect(created.referenceImages).toHaveLength(2);

    const edit = page.getByRole('form', { name: 'Edit Theo' });
    await edit.getByLabel('Description').fill('tall, red coat');
    await edit.getByRole('button', { name: 'Remove image' }).first().click();
    await edit.getByTestId('save-character').click();
    await expect
      .poll(
        async () =>
          (
            await apiJson<{ description: string; referenceImages: unknown[] }>(
              `/api/characters/${id}`,
            )
          ).referenceImages.length,
      )
      .toBe(1);
    expect((await apiJson<{ description: string }>(`/api/characters/${id}`)).description).toBe(
      'tall, red coat',
    );
    await dismissToasts(page);
    await screenshot(page, 'character-edit');

    await page
      .getByRole('form', { name: 'Edit Theo' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page
      .getByRole('dialog', { name: 'Delete Theo?' })
      .getByRole('button', { name: 'Delete character' })
      .click();
    await expect
      .poll(() => fetch(`${baseUrl()}/api/characters/${id}`).then((r) => r.status))
      .toBe(404);
    await expect.poll(() => page.getByTestId('character-list').getByText('Theo').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});

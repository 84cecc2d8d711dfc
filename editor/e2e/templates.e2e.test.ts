/**
 * Your own templates end to end (issue 13, "Must show"), in real Chromium against the real
 * server: expose two params on a graph, save it as a template with its last run's video as the
 * preview, find it in the library, fill its form (a bad value is refused in the form), run it
 * and get the video; make a workflow from version 1, update the template to version 2 and see
 * it, while the workflow made from version 1 still runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { GraphDocument } from '../../engine/graph/document';
import {
  apiJson,
  baseUrl,
  dismissToasts,
  launchBrowser,
  node,
  openPage,
  screenshot,
  unavailable,
} from './harness';
import { REPO_ROOT } from './server';

const skip = unavailable();

interface Summary {
  id: string;
  version: number;
  source: string;
  preview: { artifactId: string; mime: string } | null;
  exposed: { key: string; label: string }[];
}

/** The shipped character short with nothing exposed and one shot, so each run stays short. */
function leanGraph(): GraphDocument {
  const path = join(REPO_ROOT, 'workflows/character-short.json');
  const graph = JSON.parse(readFileSync(path, 'utf8')) as GraphDocument;
  return {
    ...graph,
    id: 'wf_e2e_templates',
    name: 'Mira one-shot',
    exposed: [],
    meta: {},
    nodes: graph.nodes.map((n) =>
      n.id === 'story' ? { ...n, params: { ...n.params, shots: 1 } } : n,
    ),
  };
}

describe.skipIf(skip)('templates', () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let workflowId = '';
  let templateId = '';
  let oldWorkflowId = '';

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await openPage(browser, errors);
    const created = await apiJson<{ id: string }>('/api/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Mira one-shot', graph: leanGraph() }),
    });
    workflowId = created.id;
  });

  afterAll(async () => {
    await browser?.close();
  });

  const waitSaved = () =>
    expect
      .poll(() => page.getByTestId('save-state').textContent(), { timeout: 20_000 })
      .toContain('Saved');

  it('exposes two params, runs once and saves the workflow as a template', async () => {
    await page.goto(`${baseUrl()}/#/w/${workflowId}`);
    await expect.poll(() => node(page, 'script').isVisible(), { timeout: 30_000 }).toBe(true);

    await node(page, 'script').locator('.graph-node__header').click();
    await page.getByTestId('field-text').getByRole('button', { name: 'expose' }).click();
    await node(page, 'story').locator('.graph-node__header').click();
    await page.getByTestId('field-shots').getByRole('button', { name: 'expose' }).click();
    await page.getByTestId('exposed-shots').getByLabel('Label').fill('Shots');
    await page.getByTestId('exposed-shots').getByLabel('Help').fill('One clip per shot');
    // Both nodes carry the marker; the document's exposed list is what the server stores.
    await expect
      .poll(() => node(page, 'script').getByTestId('node-exposed').isVisible())
      .toBe(true);
    await expect.poll(() => node(page, 'story').getByTestId('node-exposed').isVisible()).toBe(true);
    await waitSaved();
    const saved = await apiJson<{ graph: GraphDocument }>(`/api/workflows/${workflowId}`);
    expect(saved.graph.exposed).toEqual([
      { nodeId: 'script', param: 'text', label: 'Script' },
      { nodeId: 'story', param: 'shots', label: 'Shots', help: 'One clip per shot' },
    ]);
    await screenshot(page, 'templates-exposed');

    // One run, so its video can be the template's preview.
    await page.getByTestId('run').click();
    await expect
      .poll(() => page.getByTestId('run-status').textContent(), { timeout: 240_000 })
      .toBe('succeeded');

    await page.getByTestId('open-save-template').click();
    const dialog = page.getByRole('dialog', { name: 'Save as template' });
    await expect
      .poll(() => dialog.getByRole('radio', { name: /last run’s video/ }).isChecked(), {
        timeout: 20_000,
      })
      .toBe(true);
    await dialog.getByLabel('Category').fill('E2E shorts');
    await screenshot(page, 'templates-save-dialog');
    await dialog.getByTestId('save-template').click();
    await expect.poll(() => dialog.count(), { timeout: 20_000 }).toBe(0);
    // The workflow now remembers its template, so the next save is a new version of it.
    await waitSaved();

    // Found by name: other e2e files share this server and may save templates of their own.
    const mine = await apiJson<(Summary & { name: string })[]>('/api/templates?source=mine');
    const saved1 = mine.filter((t) => t.name === 'Mira one-shot');
    expect(saved1).toHaveLength(1);
    templateId = saved1[0].id;
    expect(saved1[0]).toMatchObject({ version: 1, source: 'mine' });
    expect(saved1[0].preview?.mime).toBe('video/mp4');
    expect(saved1[0].exposed.map((e) => e.key)).toEqual(['script.text', 'story.shots']);
  });

  it('finds it in the library with its preview, refuses a bad value, runs it and plays the video', async () => {
    await page.goto(`${baseUrl()}/#/templates`);
    await page.getByRole('button', { name: 'Mine' }).click();
    const card = page.getByTestId(`template-${templateId}`);
    await expect.poll(() => card.isVisible(), { timeout: 20_000 }).toBe(true);
    const preview = card.getByTestId('template-preview');
    expect(await preview.evaluate((el) => el.tagName)).toBe('VIDEO');
    const src = await preview.getAttribute('src');
    const previewBytes = await fetch(`${baseUrl()}${src}`);
    expect(previewBytes.headers.get('content-type')).toContain('video/mp4');
    await screenshot(page, 'templates-library');

    await page.getByTestId(`use-template-${templateId}`).click();
    const dialog = page.getByRole('dialog', { name: /New from/ });
    const shots = dialog.getByTestId('field-story.shots').locator('input');
    await shots.fill('99');
    await expect
      .poll(() => dialog.getByTestId('field-story.shots').getByRole('alert').textContent())
      .toBe('must be at most 24');
    expect(await dialog.getByTestId('run-template').isDisabled()).toBe(true);
    await screenshot(page, 'templates-bad-value');
    await shots.fill('1');
    await dialog.getByTestId('run-template').click();
    const video = page.getByTestId('template-video');
    await expect.poll(() => video.isVisible(), { timeout: 240_000 }).toBe(true);
    expect(await page.getByTestId('template-run').getAttribute('data-status')).toBe('succeeded');
    const played = await fetch(`${baseUrl()}${await video.getAttribute('src')}`);
    expect(played.status).toBe(200);
    expect(played.headers.get('content-type')).toContain('video/mp4');
    await screenshot(page, 'templates-run-video');
    await page.keyboard.press('Escape');
  });

  it('updates the template to version 2 while a workflow made from version 1 still runs', async () => {
    // A workflow from version 1, through the form.
    await page.getByTestId(`use-template-${templateId}`).click();
    await page
      .getByRole('dialog', { name: /New from/ })
      .getByTestId('instantiate')
      .click();
    await expect.poll(() => page.url(), { timeout: 20_000 }).toMatch(/#\/w\/wf/);
    oldWorkflowId = /#\/w\/([^/]+)/.exec(page.url())![1];
    const old = await apiJson<{ graph: GraphDocument }>(`/api/workflows/${oldWorkflowId}`);
    expect(old.graph.meta.template).toEqual({ id: templateId, version: 1 });

    // Back in the original workflow: relabel a value and save again, as version 2.
    await page.goto(`${baseUrl()}/#/w/${workflowId}`);
    await expect.poll(() => node(page, 'story').isVisible(), { timeout: 30_000 }).toBe(true);
    await node(page, 'story').locator('.graph-node__header').click();
    await page.getByTestId('exposed-shots').getByLabel('Label').fill('Shot count');
    await waitSaved();
    await page.getByTestId('open-save-template').click();
    const dialog = page.getByRole('dialog', { name: 'Save as template' });
    await expect
      .poll(() => dialog.getByTestId('save-template').textContent(), { timeout: 20_000 })
      .toBe('Save version 2');
    await dialog.getByTestId('save-template').click();
    await expect.poll(() => dialog.count(), { timeout: 20_000 }).toBe(0);
    await dismissToasts(page);

    await page.goto(`${baseUrl()}/#/templates`);
    const card = page.getByTestId(`template-${templateId}`);
    await expect
      .poll(() => card.getByTestId('template-version').textContent(), { timeout: 20_000 })
      .toBe('v2');
    await card.getByRole('button', { name: 'Versions' }).click();
    const versions = page.getByTestId('template-versions');
    await expect.poll(() => versions.locator('li').count(), { timeout: 20_000 }).toBe(2);
    await screenshot(page, 'templates-versions');
    await page.keyboard.press('Escape');

    // The workflow made from version 1 is untouched and still runs.
    await page.goto(`${baseUrl()}/#/w/${oldWorkflowId}`);
    await expect.poll(() => node(page, 'merge').isVisible(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('run').click();
    await expect
      .poll(() => page.getByTestId('run-status').textContent(), { timeout: 240_000 })
      .toBe('succeeded');
    const after = await apiJson<{ graph: GraphDocument }>(`/api/workflows/${oldWorkflowId}`);
    expect(after.graph.meta.template).toEqual({ id: templateId, version: 1 });
    expect(after.graph.exposed.find((e) => e.param === 'shots')?.label).toBe('Shots');
    await screenshot(page, 'templates-old-workflow-ran');
    expect(errors).toEqual([]);
  });
});

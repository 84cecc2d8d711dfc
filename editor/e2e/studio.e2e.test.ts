/**
 * The studio end to end, in real Chromium against the real server (issue 3, "Must show"):
 * build the character-short pipeline from an empty canvas by dragging and connecting, see an
 * incompatible connection refused, undo/redo a deletion, run it with live progress, reload
 * mid-run and see the live view resume, play the final video, export and import back to an
 * identical graph, and see every problem of a broken file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { GraphDocument } from '../../engine/graph/document';
import {
  apiJson,
  baseUrl,
  connect,
  dismissToasts,
  dropNode,
  edgeCount,
  launchBrowser,
  node,
  nodeStatus,
  openPage,
  screenshot,
  unavailable,
} from './harness';

const skip = unavailable();
const mod = process.platform === 'darwin' ? 'Meta' : 'Control';

describe.skipIf(skip)('studio', () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let workflowId = '';

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await openPage(browser, errors);
  });

  afterAll(async () => {
    await browser?.close();
  });

  const workflowIdFromUrl = () => /#\/w\/([^/]+)/.exec(page.url())?.[1] ?? '';

  it('builds the character-short pipeline from an empty canvas by dragging and connecting', async () => {
    await page.goto(`${baseUrl()}/#/new`);
    await expect.poll(() => page.getByTestId('palette-script-input').isVisible()).toBe(true);
    await screenshot(page, 'empty-canvas');

    await dropNode(page, 'script-input', 50, 60);
    await dropNode(page, 'character-loader', 50, 420);
    await dropNode(page, 'gpt-storyboard', 320, 60);
    await dropNode(page, 'sd-lora-frame', 320, 470);
    await dropNode(page, 'runway-clip', 590, 60);
    await dropNode(page, 'ffmpeg-merge', 590, 420);
    for (const id of ['script', 'character', 'storyboard', 'frame', 'clip', 'merge']) {
      await expect.poll(() => node(page, id).isVisible()).toBe(true);
    }
    // Fit the view (F) so every handle is on screen, clear of the panels and the minimap.
    await page.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('f');
    await page.waitForTimeout(400);

    // An incompatible connection is refused while dragging, with the reason, and on drop.
    const release = await connect(page, ['script', 'text'], ['frame', 'storyboard'], {
      hold: true,
    });
    await expect
      .poll(() => page.getByTestId('connection-refused').textContent())
      .toContain('Text (text) cannot feed Storyboard (storyboard)');
    await screenshot(page, 'connection-refused');
    await release();
    expect(await edgeCount(page)).toBe(0);
    await expect
      .poll(() => page.getByRole('alert').filter({ hasText: 'Not connected' }).count())
      .toBeGreaterThan(0);

    const wiring: [[string, string], [string, string]][] = [
      [
        ['script', 'text'],
        ['storyboard', 'script'],
      ],
      [
        ['character', 'character'],
        ['storyboard', 'character'],
      ],
      [
        ['storyboard', 'storyboard'],
        ['frame', 'storyboard'],
      ],
      [
        ['character', 'character'],
        ['frame', 'character'],
      ],
      [
        ['frame', 'frames'],
        ['clip', 'frames'],
      ],
      [
        ['storyboard', 'storyboard'],
        ['clip', 'storyboard'],
      ],
      [
        ['clip', 'clips'],
        ['merge', 'clips'],
      ],
      [
        ['storyboard', 'storyboard'],
        ['merge', 'storyboard'],
      ],
    ];
    for (const [from, to] of wiring) await connect(page, from, to);
    expect(await edgeCount(page)).toBe(8);

    // The inspector: a four-sentence script, the demo character, at most three shots.
    await node(page, 'script').click({ position: { x: 60, y: 14 } });
    await page
      .getByTestId('field-text')
      .locator('textarea')
      .fill(
        'Mira climbs the ridge at dawn. She stops at the top. The valley glows below. She smiles and walks on.',
      );
    await node(page, 'character').click({ position: { x: 60, y: 14 } });
    await page.getByTestId('field-characterId').locator('select').selectOption({ label: 'Mira' });
    await node(page, 'storyboard').click({ position: { x: 60, y: 14 } });
    await page.getByTestId('field-shots').locator('input').fill('3');

    await page.getByRole('textbox', { name: 'Workflow name' }).fill('Mira at dawn');
    await expect
      .poll(() => page.getByTestId('save-state').textContent(), { timeout: 20_000 })
      .toContain('Saved');
    workflowId = workflowIdFromUrl();
    expect(workflowId).toMatch(/^wf/);
    const saved = await apiJson<{ graph: GraphDocument }>(`/api/workflows/${workflowId}`);
    expect(saved.graph.nodes.map((n) => n.type).sort()).toEqual([
      'character-loader',
      'ffmpeg-merge',
      'gpt-storyboard',
      'runway-clip',
      'script-input',
      'sd-lora-frame',
    ]);
    expect(
      saved.graph.edges
        .map((e) => `${e.source}.${e.sourcePort}>${e.target}.${e.targetPort}`)
        .sort(),
    ).toEqual(wiring.map(([a, b]) => `${a[0]}.${a[1]}>${b[0]}.${b[1]}`).sort());
    expect(saved.graph.nodes.find((n) => n.id === 'character')!.params.characterId).toBe(
      'demo-mira',
    );
    expect(saved.graph.name).toBe('Mira at dawn');
    expect(saved.graph.nodes.find((n) => n.id === 'storyboard')!.params.shots).toBe(3);
    expect(saved.graph.nodes.find((n) => n.id === 'script')!.params.text).toMatch(/^Mira climbs/);
  });

  it('undoes and redoes a deletion', async () => {
    await node(page, 'merge').click({ position: { x: 60, y: 14 } });
    await page.keyboard.press('Delete');
    await expect.poll(() => node(page, 'merge').count()).toBe(0);
    expect(await edgeCount(page)).toBe(6);
    await page.keyboard.press(`${mod}+z`);
    await expect.poll(() => node(page, 'merge').count()).toBe(1);
    expect(await edgeCount(page)).toBe(8);
    await page.keyboard.press(`${mod}+Shift+z`);
    await expect.poll(() => node(page, 'merge').count()).toBe(0);
    await page.keyboard.press(`${mod}+z`);
    await expect.poll(() => node(page, 'merge').count()).toBe(1);
    await page.keyboard.press('Escape');
    await expect
      .poll(() => page.getByTestId('save-state').textContent(), { timeout: 20_000 })
      .toContain('Saved');
    await dismissToasts(page);
    await screenshot(page, 'studio-built');
  });

  it('runs with live per-node progress, resumes after a reload, and plays the final video', async () => {
    await dismissToasts(page);
    await page.getByTestId('run').click();
    await expect.poll(() => page.url(), { timeout: 20_000 }).toContain('/runs/');
    const runId = /\/runs\/([^/?#]+)/.exec(page.url())![1];

    // Live progress on the canvas: a fan-out node counts its items.
    await expect
      .poll(() => nodeStatus(page, 'frame'), { timeout: 120_000 })
      .toMatch(/running|succeeded/);
    await expect
      .poll(() => page.getByTestId('node-progress').count(), { timeout: 60_000 })
      .toBeGreaterThan(0);
    await screenshot(page, 'run-progress');

    // Reload in the middle: the snapshot and the backlog bring the live view back.
    const before = await apiJson<{ status: string; seq: number }>(`/api/runs/${runId}`);
    await page.reload();
    await expect
      .poll(() => page.getByTestId('run-status').textContent(), { timeout: 20_000 })
      .toMatch(/running|succeeded/);
    await expect.poll(() => nodeStatus(page, 'storyboard')).toMatch(/succeeded|cached/);
    await expect
      .poll(() => page.getByTestId('event-log').locator('li').count())
      .toBeGreaterThanOrEqual(before.seq);
    expect(await page.getByTestId('event-log').textContent()).toContain('run started');

    await expect
      .poll(() => page.getByTestId('run-status').textContent(), { timeout: 240_000 })
      .toBe('succeeded');
    expect(before.status === 'running' || before.status === 'queued').toBe(true);
    for (const id of ['script', 'character', 'storyboard', 'frame', 'clip', 'merge']) {
      expect(await nodeStatus(page, id)).toMatch(/succeeded|cached/);
    }
    await expect.poll(() => node(page, 'frame').locator('.thumb img').count()).toBe(3);
    await expect.poll(() => node(page, 'storyboard').locator('.shot').count()).toBe(3);
    expect(await node(page, 'frame').getByTestId('node-progress').textContent()).toContain('3/3');

    const video = page.getByTestId('final-video');
    const src = await video.getAttribute('src');
    expect(src).toMatch(/^\/api\/artifacts\/[a-f0-9]{64}$/);
    const head = await fetch(`${baseUrl()}${src}`, { headers: { range: 'bytes=0-99' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-type')).toBe('video/mp4');
    const duration = await video.evaluate(
      (element: HTMLVideoElement) =>
        new Promise<number>((resolve) => {
          if (element.readyState >= 1) resolve(element.duration);
          element.addEventListener('loadedmetadata', () => resolve(element.duration));
          element.addEventListener('error', () => resolve(-1));
        }),
    );
    expect(duration).toBeGreaterThan(1);
    await screenshot(page, 'run-finished');

    await page.getByRole('tab', { name: 'History' }).click();
    await expect
      .poll(() => page.getByTestId('run-history').locator('li').count())
      .toBeGreaterThan(0);
    await screenshot(page, 'run-history');
  });

  it('re-runs with changes: only the edited node and what follows run again', async () => {
    await dismissToasts(page);
    // Double-clicking a node opens it in the inspector (the run panel was showing).
    await node(page, 'merge').dblclick({ position: { x: 60, y: 14 } });
    await page.getByTestId('field-crossfadeSec').locator('input').fill('0.5');
    const firstRun = /\/runs\/([^/?#]+)/.exec(page.url())![1];
    await page.getByRole('button', { name: 'Re-run with changes' }).click();
    await expect
      .poll(() => /\/runs\/([^/?#]+)/.exec(page.url())?.[1], { timeout: 20_000 })
      .not.toBe(firstRun);
    await expect
      .poll(() => page.getByTestId('run-status').textContent(), { timeout: 240_000 })
      .toBe('succeeded');
    for (const id of ['storyboard', 'frame', 'clip'])
      expect(await nodeStatus(page, id)).toBe('cached');
    expect(await nodeStatus(page, 'merge')).toBe('succeeded');
    // It went through /api/runs/:id/rerun (the run's graph was remembered across the reload).
    const runs = await apiJson<{ id: string; parentRunId?: string }[]>(
      `/api/runs?workflowId=${workflowId}`,
    );
    expect(runs[0].parentRunId).toBe(firstRun);
    await screenshot(page, 'rerun-cached');
  });

  it('copies a node as graph JSON and pastes it back', async () => {
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await node(page, 'script').click({ position: { x: 60, y: 14 } });
    await page.keyboard.press(`${mod}+c`);
    const pane = await page.locator('.react-flow__pane').boundingBox();
    await page.mouse.move(pane!.x + 60, pane!.y + pane!.height - 80);
    await page.keyboard.press(`${mod}+v`);
    await expect.poll(() => node(page, 'script-2').count()).toBe(1);
    const copied = await page.evaluate(() => navigator.clipboard.readText()).catch(() => null);
    if (copied !== null)
      expect(JSON.parse(copied)).toMatchObject({
        schema: 'character-lab/graph',
        nodes: [{ id: 'script' }],
      });
    await page.keyboard.press(`${mod}+z`);
    await expect.poll(() => node(page, 'script-2').count()).toBe(0);
  });

  it('exports the workflow and imports it back to an identical graph', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export').click(),
    ]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    const exported = await readFile(path, 'utf8');
    const original = JSON.parse(exported) as GraphDocument;
    expect(original.id).toBe(workflowId);

    await page.goto(`${baseUrl()}/#/workflows`);
    await page.getByRole('button', { name: 'Import…' }).click();
    await page.getByTestId('import-file').setInputFiles({
      name: 'exported.json',
      mimeType: 'application/json',
      buffer: Buffer.from(exported),
    });
    await expect.poll(() => workflowIdFromUrl(), { timeout: 20_000 }).not.toBe('');
    const importedId = workflowIdFromUrl();
    expect(importedId).not.toBe(workflowId);
    await expect.poll(() => node(page, 'merge').isVisible()).toBe(true);

    const again = await fetch(`${baseUrl()}/api/workflows/${importedId}/export`).then((r) =>
      r.text(),
    );
    expect(again.replace(importedId, workflowId)).toBe(exported);
  });

  it('shows every problem of a broken file instead of failing silently', async () => {
    // Loads fine, fails validation four ways: the server reports them all at once.
    const broken = {
      schema: 'character-lab/graph',
      version: 1,
      id: 'broken',
      name: 'Broken',
      nodes: [
        { id: 'a', type: 'script-input', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
        { id: 'b', type: 'teleporter', typeVersion: 1, position: { x: 300, y: 0 }, params: {} },
        {
          id: 'c',
          type: 'sd-lora-frame',
          typeVersion: 1,
          position: { x: 600, y: 0 },
          params: { seed: -1 },
        },
      ],
      edges: [
        { id: 'e1', source: 'a', sourcePort: 'text', target: 'ghost', targetPort: 'script' },
        { id: 'e2', source: 'a', sourcePort: 'text', target: 'c', targetPort: 'storyboard' },
      ],
    };
    await page.goto(`${baseUrl()}/#/workflows`);
    await page.getByRole('button', { name: 'Import…' }).click();
    await page.getByTestId('import-file').setInputFiles({
      name: 'broken.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(broken)),
    });
    const view = page.getByRole('alert', { name: 'Import problems' });
    await expect.poll(() => view.isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await view.textContent()).toContain('broken.json cannot be imported');
    expect(await view.locator('.import-problem').count()).toBeGreaterThanOrEqual(4);
    for (const code of [
      'unknown_node_type',
      'dangling_edge',
      'port_type_mismatch',
      'invalid_param',
    ]) {
      expect(await view.textContent()).toContain(code);
    }
    await screenshot(page, 'import-problems');

    // A file that is not even JSON says where it breaks.
    await page.getByTestId('import-file').setInputFiles({
      name: 'cut.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{\n  "schema": "character-lab/graph",\n  "nodes": [\n'),
    });
    await expect.poll(() => view.textContent()).toContain('not valid JSON at line 4');
    expect(page.url()).toContain('#/workflows');
  });

  it('shows the template gallery, the characters page and the shortcuts', async () => {
    await page.goto(`${baseUrl()}/#/templates`);
    await expect
      .poll(() => page.getByTestId('template-list').locator('li').count())
      .toBeGreaterThan(0);
    await screenshot(page, 'templates');

    await page.goto(`${baseUrl()}/#/characters/demo-mira`);
    await expect.poll(() => page.getByRole('form', { name: 'Edit Mira' }).isVisible()).toBe(true);
    await screenshot(page, 'characters');

    await page.goto(`${baseUrl()}/#/w/${workflowId}`);
    await expect.poll(() => node(page, 'merge').isVisible()).toBe(true);
    await page.keyboard.press('Shift+?');
    await expect
      .poll(() => page.getByRole('dialog', { name: 'Keyboard shortcuts' }).isVisible())
      .toBe(true);
    await screenshot(page, 'shortcuts');
    await page.keyboard.press('Escape');
    expect(errors).toEqual([]);
  });
});

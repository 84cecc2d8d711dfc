/**
 * The editor benchmark (bench/editor-render.bench.ts) in a reduced form, so its code never
 * rots: a 50-node graph, one load of the studio and of the bare React Flow baseline, one short
 * pan each. It asserts only what must hold on any machine (every node and edge drawn, the pan
 * moved the canvas and frames were painted); no timing is checked here.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  benchGraph,
  buildBaseline,
  loadOnce,
  pan,
  startBaselineServer,
  zoomIn,
  type BaselineServer,
} from '../../bench/editor-render/measure';
import { apiJson, baseUrl, launchBrowser, openPage, unavailable } from './harness';

describe.skipIf(!!unavailable())('editor render benchmark (reduced)', () => {
  const graph = benchGraph(50);
  const expected = { nodes: graph.nodes.length, edges: graph.edges.length };
  let browser: Browser;
  let baseline: BaselineServer;
  let page: Page;
  let workflowId = '';
  const errors: string[] = [];

  beforeAll(async () => {
    await buildBaseline();
    baseline = await startBaselineServer();
    browser = await launchBrowser();
    page = await openPage(browser, errors);
  });

  afterAll(async () => {
    await browser?.close();
    await baseline?.stop();
  });

  it('the generated graph is the size asked for and valid enough to save', async () => {
    expect(expected).toEqual({ nodes: 50, edges: 70 });
    const saved = await apiJson<{ id: string }>('/api/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph }),
    });
    expect(saved.id).toBeTruthy();
    workflowId = saved.id;
  });

  for (const which of ['bare React Flow', 'studio'] as const) {
    it(`${which}: draws every node and edge, pans at fit view and zoomed in`, async () => {
      const url =
        which === 'studio'
          ? `${baseUrl()}/#/w/${workflowId}`
          : `${baseline.url}/?nodes=${expected.nodes}`;
      const load = await loadOnce(page, url, expected);
      expect(load.nodesInDom).toBe(expected.nodes);
      expect(load.edgesInDom).toBe(expected.edges);
      expect(load.graphVisibleMs).toBeGreaterThan(0);

      const fit = await pan(page, 6, { moves: 10, sweeps: 2 });
      expect(fit.frames).toBeGreaterThan(1);
      expect(fit.fps).toBeGreaterThan(0);
      expect(fit.p95FrameMs).toBeGreaterThan(0);

      expect(await zoomIn(page)).toBeGreaterThanOrEqual(0.95);
      const zoomed = await pan(page, 20, { moves: 10, sweeps: 2 });
      expect(zoomed.frames).toBeGreaterThan(1);
      expect(zoomed.zoom).toBeGreaterThan(fit.zoom);
      expect(errors).toEqual([]);
    });
  }
});

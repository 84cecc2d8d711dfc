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
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from '../../engine/graph/document';
import { normalizeNodeType } from '../src/api/client';
import { nodeGeometry } from '../src/canvas/node-geometry';
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

  it('every node type is laid out exactly as node-geometry.ts tells React Flow', async () => {
    const types = (await apiJson<unknown[]>('/api/node-types')).map(normalizeNodeType);
    const doc = {
      schema: GRAPH_SCHEMA_ID,
      version: GRAPH_VERSION,
      id: 'geometry',
      name: 'Every node type',
      description: '',
      // Close together, so fit view stays above the far zoom that hides node details.
      nodes: types.map((info, i) => ({
        id: `n${i}`,
        type: info.type,
        typeVersion: info.typeVersion,
        position: { x: (i % 4) * 280, y: Math.floor(i / 4) * 200 },
        params: {},
      })),
      edges: [],
      exposed: [],
      meta: {},
    };
    const saved = await apiJson<{ id: string }>('/api/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph: doc }),
    });
    await loadOnce(page, `${baseUrl()}/#/w/${saved.id}`, { nodes: types.length, edges: 0 });
    const laidOut = (await page.evaluate(`(() => {
      const zoom = new DOMMatrixReadOnly(
        getComputedStyle(document.querySelector('.react-flow__viewport')).transform,
      ).m22;
      return [...document.querySelectorAll('.react-flow__node')].map((node) => {
        const box = node.getBoundingClientRect();
        return {
          id: node.dataset.id,
          zoom,
          far: !!node.querySelector('.graph-node--far'),
          width: node.offsetWidth,
          height: node.offsetHeight,
          handles: [...node.querySelectorAll('.react-flow__handle')].map((h) => {
            const r = h.getBoundingClientRect();
            return {
              id: h.dataset.handleid,
              type: h.classList.contains('source') ? 'source' : 'target',
              x: Math.round(((r.left - box.left) / zoom) * 10) / 10,
              y: Math.round(((r.top - box.top) / zoom) * 10) / 10,
              width: h.offsetWidth,
              height: h.offsetHeight,
            };
          }),
        };
      });
    })()`)) as {
      id: string;
      far: boolean;
      width: number;
      height: number;
      handles: { id: string; type: string; x: number; y: number }[];
    }[];
    expect(laidOut).toHaveLength(types.length);
    for (const node of laidOut) {
      const info = types[Number(node.id.slice(1))];
      const geometry = nodeGeometry(info);
      expect(node.far, info.type).toBe(false);
      expect({ type: info.type, width: node.width, height: node.height }).toEqual({
        type: info.type,
        width: geometry.width,
        height: geometry.height,
      });
      expect(node.handles).toEqual(
        geometry.handles.map((h) => ({
          id: h.id,
          type: h.type,
          x: Math.round(h.x * 10) / 10,
          y: Math.round(h.y * 10) / 10,
          width: h.width,
          height: h.height,
        })),
      );
    }
    expect(errors).toEqual([]);
  });

  it('a graph that fits only below the far zoom is drawn as boxes from its first frame, and fits the canvas', async () => {
    const large = benchGraph(300);
    const saved = await apiJson<{ id: string }>('/api/workflows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph: large }),
    });
    const fresh = await openPage(browser, errors);
    // Every node drawn in full (its port rows) that is ever added to or removed from the page:
    // a full draw replaced by the far one in the same task would not be seen by a query.
    await fresh.addInitScript(`(() => {
      window.fullNodeMutations = 0;
      const full = (n) => n.nodeType === 1 && (n.matches('.graph-node__ports') || !!n.querySelector('.graph-node__ports'));
      new MutationObserver((records) => {
        for (const r of records) {
          for (const n of [...r.addedNodes, ...r.removedNodes]) if (full(n)) window.fullNodeMutations++;
        }
      }).observe(document, { subtree: true, childList: true });
    })()`);
    const load = await loadOnce(fresh, `${baseUrl()}/#/w/${saved.id}`, {
      nodes: large.nodes.length,
      edges: large.edges.length,
    });
    expect(load.nodesInDom).toBe(large.nodes.length);
    const drawn = (await fresh.evaluate(`(() => {
      const pane = document.querySelector('.react-flow').getBoundingClientRect();
      const zoom = new DOMMatrixReadOnly(
        getComputedStyle(document.querySelector('.react-flow__viewport')).transform,
      ).m22;
      const boxes = [...document.querySelectorAll('.react-flow__node')].map((n) => n.getBoundingClientRect());
      return {
        zoom,
        fullNodeMutations: window.fullNodeMutations,
        far: document.querySelectorAll('.graph-node--far').length,
        outside: boxes.filter((b) => b.left < pane.left || b.right > pane.right || b.top < pane.top || b.bottom > pane.bottom).length,
      };
    })()`)) as { zoom: number; fullNodeMutations: number; far: number; outside: number };
    expect(drawn.zoom).toBeLessThan(0.3);
    expect(drawn).toMatchObject({ fullNodeMutations: 0, far: large.nodes.length, outside: 0 });
    await fresh.context().close();
    expect(errors).toEqual([]);
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

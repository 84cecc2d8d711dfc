/**
 * The editor benchmark's machinery, shared by bench/editor-render.bench.ts (the full run) and
 * editor/e2e/editor-render.e2e.test.ts (a reduced run in the test suite, so this never rots):
 * the generated graph, the bare React Flow page it is compared with, one measured load and one
 * measured pan. Both pages are driven by the same code in the same Chromium.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import {
  GRAPH_SCHEMA_ID,
  GRAPH_VERSION,
  type GraphDocument,
  type GraphEdge,
  type GraphNode,
} from '../../engine/graph/document';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const BASELINE_OUT = fileURLToPath(new URL('../../dist/bench-baseline/', import.meta.url));

/** Node types of one chain, in the order they are wired (as in the character-short template). */
const CHAIN = ['script-input', 'gpt-storyboard', 'sd-lora-frame', 'runway-clip', 'ffmpeg-merge'];
const CHAIN_WIDTH = CHAIN.length * 280;
const ROW_HEIGHT = 240;

/**
 * `size / 5` chains script → storyboard → frames → clips → merge, wired as in the character-short
 * template (6 edges each), plus each chain's clips feeding the next chain's merge: 1.4 edges per
 * node, no loops, valid. Chains are laid out in a roughly square block, so "fit view" shows every
 * node at once.
 */
export function benchGraph(size: number): GraphDocument {
  const chains = Math.max(1, Math.floor(size / CHAIN.length));
  const columns = Math.max(1, Math.round(Math.sqrt((chains * ROW_HEIGHT) / CHAIN_WIDTH)));
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const edge = (source: string, sourcePort: string, target: string, targetPort: string) =>
    edges.push({ id: `e${edges.length + 1}`, source, sourcePort, target, targetPort });
  for (let chain = 0; chain < chains; chain++) {
    const x0 = (chain % columns) * CHAIN_WIDTH;
    const y0 = Math.floor(chain / columns) * ROW_HEIGHT;
    CHAIN.forEach((type, step) =>
      nodes.push({
        id: `c${chain}-${step}`,
        type,
        typeVersion: 1,
        position: { x: x0 + step * 280, y: y0 },
        params: {},
      }),
    );
    const id = (step: number) => `c${chain}-${step}`;
    edge(id(0), 'text', id(1), 'script');
    edge(id(1), 'storyboard', id(2), 'storyboard');
    edge(id(2), 'frames', id(3), 'frames');
    edge(id(1), 'storyboard', id(3), 'storyboard');
    edge(id(3), 'clips', id(4), 'clips');
    edge(id(1), 'storyboard', id(4), 'storyboard');
  }
  if (chains > 1)
    for (let chain = 0; chain < chains; chain++)
      edge(`c${chain}-3`, 'clips', `c${(chain + 1) % chains}-4`, 'clips');
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: `bench-${nodes.length}`,
    name: `Render benchmark (${nodes.length} nodes, ${edges.length} edges)`,
    description: '',
    nodes,
    edges,
    exposed: [],
    meta: {},
  };
}

/** `vite build` of the bare React Flow page with the studio's React plugin and Vite. */
export async function buildBaseline(): Promise<void> {
  // Production React, like the studio's build (see buildEditor), whatever NODE_ENV says.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await buildBaselineBundle();
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

async function buildBaselineBundle(): Promise<void> {
  await build({
    configFile: false,
    root: join(HERE, 'baseline'),
    base: '/',
    plugins: [react()],
    logLevel: 'warn',
    build: { outDir: BASELINE_OUT, emptyOutDir: true, chunkSizeWarningLimit: 1_000 },
  });
}

export interface BaselineServer {
  url: string;
  stop(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

/**
 * Serves the built baseline page and `/graph.json?nodes=N` (the same graph the studio is given)
 * on 127.0.0.1, so the baseline fetches its data over HTTP like the studio does.
 */
export async function startBaselineServer(): Promise<BaselineServer> {
  if (!existsSync(join(BASELINE_OUT, 'index.html')))
    throw new Error('the baseline page is not built: call buildBaseline() first');
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/graph.json') {
      const size = Number(url.searchParams.get('nodes'));
      if (!Number.isInteger(size) || size < 1 || size > 5_000) {
        response.writeHead(400).end('nodes must be an integer from 1 to 5000');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(benchGraph(size)));
      return;
    }
    const file = normalize(join(BASELINE_OUT, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(BASELINE_OUT) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface FirstRender {
  /** Navigation start → every node in the DOM, measured (visible) and every edge drawn. */
  graphVisibleMs: number;
  nodesInDom: number;
  edgesInDom: number;
}

/**
 * Loads `url` from a blank page and waits, frame by frame, until `nodes` nodes are measured
 * (React Flow hides a node until it has its size) and `edges` edge paths exist; the time is
 * taken in the frame after that, once the graph has been painted.
 */
export async function loadOnce(
  page: Page,
  url: string,
  expected: { nodes: number; edges: number },
): Promise<FirstRender> {
  await page.goto('about:blank');
  await page.goto(url);
  // A function, not a string: the studio's CSP forbids eval. It must declare no named inner
  // functions (tsx's name-keeping helper does not exist inside the page).
  const graphVisibleMs = (await page
    .waitForFunction(
      ({ nodes: wantNodes, edges: wantEdges }) => {
        const w = window as unknown as { drawnAt?: number; complete?: boolean };
        if (w.drawnAt) return w.drawnAt;
        if (w.complete) return 0;
        const nodes = document.querySelectorAll<HTMLElement>('.react-flow__node');
        if (nodes.length < wantNodes) return 0;
        for (const node of nodes) if (node.style.visibility === 'hidden') return 0;
        if (document.querySelectorAll('.react-flow__edge-path').length < wantEdges) return 0;
        w.complete = true;
        requestAnimationFrame(() => (w.drawnAt = performance.now()));
        return 0;
      },
      expected,
      { polling: 'raf', timeout: 120_000 },
    )
    .then((handle) => handle.jsonValue())) as number;
  const counts = await page.evaluate(() => ({
    nodes: document.querySelectorAll('.react-flow__node').length,
    edges: document.querySelectorAll('.react-flow__edge').length,
  }));
  return { graphVisibleMs, nodesInDom: counts.nodes, edgesInDom: counts.edges };
}

export interface PanResult {
  fps: number;
  frames: number;
  p50FrameMs: number;
  p95FrameMs: number;
  maxFrameMs: number;
  nodesInDom: number;
  zoom: number;
}

const viewportTransform = (page: Page) =>
  page.locator('.react-flow__viewport').evaluate((el) => (el as HTMLElement).style.transform);

const scaleOf = (transform: string) => Number(/scale\(([\d.]+)\)/.exec(transform)?.[1] ?? NaN);

/**
 * Drags the canvas back and forth with the mouse (`stepPx` per move, `moves` moves a sweep,
 * `sweeps` sweeps) and records every frame the page paints (`requestAnimationFrame`). Grabs
 * empty canvas, never a node, and fails when the viewport did not move.
 */
export async function pan(
  page: Page,
  stepPx: number,
  options: { moves?: number; sweeps?: number } = {},
): Promise<PanResult> {
  const moves = options.moves ?? 40;
  const sweeps = options.sweeps ?? 4;
  const start = (await page.evaluate(
    `(() => {
      const box = document.querySelector('.react-flow__pane').getBoundingClientRect();
      for (let y = box.top + 20; y < box.bottom - 300; y += 10)
        for (let x = box.left + 20; x < box.left + 200; x += 10)
          if (document.elementFromPoint(x, y)?.classList.contains('react-flow__pane')) return { x, y };
      return null;
    })()`,
  )) as { x: number; y: number } | null;
  if (!start) throw new Error('no empty canvas to grab');
  const before = await viewportTransform(page);
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__counting = true;
    const tick = (t) => {
      window.__frames.push(t);
      if (window.__counting) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  let moved = before;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let step = 1; step <= moves; step++) {
      const offset = sweep % 2 === 0 ? step : moves - step;
      await page.mouse.move(start.x + offset * stepPx, start.y + (offset * stepPx) / 3);
    }
    if (sweep === 0) moved = await viewportTransform(page);
  }
  await page.mouse.up();
  if (moved === before) throw new Error('the drag did not pan the canvas');
  const frames = (await page.evaluate(`(() => {
    window.__counting = false;
    return window.__frames;
  })()`)) as number[];
  const gaps = frames
    .slice(1)
    .map((t, i) => t - frames[i])
    .sort((a, b) => a - b);
  const seconds = (frames[frames.length - 1] - frames[0]) / 1000;
  const pct = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] ?? NaN;
  return {
    fps: gaps.length > 0 ? gaps.length / seconds : 0,
    frames: frames.length,
    p50FrameMs: pct(0.5),
    p95FrameMs: pct(0.95),
    maxFrameMs: gaps[gaps.length - 1] ?? NaN,
    nodesInDom: await page.locator('.react-flow__node').count(),
    zoom: scaleOf(moved),
  };
}

/** Wheels in around the canvas centre until the zoom is about 100 % (the usual editing zoom). */
export async function zoomIn(page: Page): Promise<number> {
  const box = await page.locator('.react-flow__pane').boundingBox();
  if (!box) throw new Error('no canvas on the page');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 60 && scaleOf(await viewportTransform(page)) < 0.95; i++) {
    await page.mouse.wheel(0, -100);
    await page.waitForTimeout(80);
  }
  await page.waitForTimeout(500);
  return scaleOf(await viewportTransform(page));
}

// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { graphSchema } from '../../../nodes/definitions';
import { CatalogProvider } from '../state/catalog-context';
import { characterShort } from '../test/fixtures';
import { ToastProvider } from '../ui/toasts';
import { TemplatesPage } from './TemplatesPage';

// The live view's socket is the network edge: the run's state comes from its HTTP snapshot here.
vi.mock('../api/run-socket', () => ({ watchRun: () => () => {} }));

interface Call {
  method: string;
  url: string;
  body: unknown;
}

const shortGraph = characterShort();
const textSchema = { type: 'string', minLength: 1, maxLength: 20000 };
const shotsSchema = { type: 'integer', minimum: 1, maximum: 24, default: 4 };

const shipped = {
  id: 'character-short',
  name: 'Character short',
  description: 'Script to video',
  category: 'Shorts',
  version: 1,
  source: 'shipped',
  nodeCount: 6,
  preview: null,
  exposed: [
    {
      key: 'script.text',
      nodeId: 'script',
      param: 'text',
      label: 'Script',
      value: 'Hello.',
      schema: textSchema,
    },
    {
      key: 'story.shots',
      nodeId: 'story',
      param: 'shots',
      label: 'Shots',
      value: 4,
      schema: shotsSchema,
    },
  ],
};
const mine = {
  ...shipped,
  id: 'tpl_mine',
  name: 'Mira intro',
  category: 'Intros',
  version: 2,
  source: 'mine',
  preview: { artifactId: 'art_video', mime: 'video/mp4' },
};
const video = { id: 'art_out', mime: 'video/mp4', bytes: 10, sha256: 'a'.repeat(64) };

let calls: Call[] = [];
let routes: Record<string, { status?: number; body: unknown }> = {};

beforeEach(() => {
  calls = [];
  routes = {
    'GET /api/node-types': { body: JSON.parse(JSON.stringify(graphSchema.describeNodeTypes())) },
    'GET /api/templates': { body: [shipped, mine] },
    'GET /api/templates?source=mine': { body: [mine] },
    'GET /api/templates?category=Intros': { body: [mine] },
    'GET /api/templates/character-short': { body: { ...shipped, graph: shortGraph } },
    'GET /api/templates/tpl_mine': { body: { ...mine, graph: shortGraph } },
    'GET /api/templates/tpl_mine?version=1': {
      body: { ...mine, version: 1, graph: shortGraph },
    },
    'GET /api/templates/tpl_mine/versions': {
      body: [
        { version: 1, name: 'Mira intro', createdAt: '2026-12-01T10:00:00.000Z' },
        { version: 2, name: 'Mira intro', createdAt: '2026-12-01T11:00:00.000Z' },
      ],
    },
    'POST /api/runs': { status: 202, body: { runId: 'run_t1' } },
    'GET /api/runs/run_t1': {
      body: {
        runId: 'run_t1',
        status: 'succeeded',
        seq: 12,
        nodes: { merge: { status: 'succeeded', progress: 1, outputs: { video } } },
        outputs: { merge: { video } },
      },
    },
    'POST /api/templates/tpl_mine/instantiate': {
      status: 201,
      body: { id: 'wf_new', name: 'Mira intro', graph: { ...shortGraph, id: 'wf_new' } },
    },
    'POST /api/templates/import': { status: 201, body: { ...mine, id: 'tpl_imported' } },
  };
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({ method, url, body });
    const route = routes[`${method} ${url}`];
    if (!route) {
      return new Response(
        JSON.stringify({ error: { code: 'not_found', message: `no route ${method} ${url}` } }),
        { status: 404 },
      );
    }
    if (route.status === 204) return new Response(null, { status: 204 });
    return new Response(JSON.stringify(route.body), {
      status: route.status ?? 200,
      headers: { 'content-type': 'application/json' },
    });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderPage() {
  return render(
    <ToastProvider>
      <CatalogProvider>
        <TemplatesPage />
      </CatalogProvider>
    </ToastProvider>,
  );
}

const sent = (method: string, url: string) =>
  calls.filter((c) => c.method === method && c.url === url);

describe('TemplatesPage', () => {
  it('lists shipped and my templates with previews, sources and versions; deletes only mine', async () => {
    renderPage();
    const own = await screen.findByTestId('template-tpl_mine');
    const preview = within(own).getByTestId('template-preview');
    expect(preview.tagName).toBe('VIDEO');
    expect(preview.getAttribute('src')).toBe('/api/artifacts/art_video');
    expect(within(own).getByTestId('template-version').textContent).toBe('v2');
    expect(within(own).getByRole('button', { name: 'Delete' })).toBeTruthy();
    const ship = screen.getByTestId('template-character-short');
    // No preview: the card draws the graph, fetched since the list leaves graphs out.
    await waitFor(() => expect(ship.querySelector('svg.graph-thumb')).not.toBeNull());
    expect(within(ship).queryByRole('button', { name: 'Delete' })).toBeNull();
    expect(within(ship).getByText('6 nodes · 2 values to fill in')).toBeTruthy();
    expect(within(own).getByTestId('export-template-tpl_mine').getAttribute('href')).toBe(
      '/api/templates/tpl_mine/export',
    );
  });

  it('deletes one of mine after asking, and lists again', async () => {
    routes['DELETE /api/templates/tpl_mine'] = { status: 204, body: null };
    renderPage();
    const own = await screen.findByTestId('template-tpl_mine');
    routes['GET /api/templates'] = { body: [shipped] };
    fireEvent.click(within(own).getByRole('button', { name: 'Delete' }));
    const confirm = screen.getByRole('dialog', { name: 'Delete “Mira intro”?' });
    expect(sent('DELETE', '/api/templates/tpl_mine')).toHaveLength(0);
    fireEvent.click(within(confirm).getByRole('button', { name: 'Delete template' }));
    await waitFor(() => expect(screen.queryByTestId('template-tpl_mine')).toBeNull());
    expect(sent('DELETE', '/api/templates/tpl_mine')).toHaveLength(1);
    expect(screen.getByTestId('template-character-short')).toBeTruthy();
  });

  it('filters by source and category on the server', async () => {
    renderPage();
    await screen.findByTestId('template-character-short');
    fireEvent.click(screen.getByRole('button', { name: 'Mine' }));
    await waitFor(() => expect(screen.queryByTestId('template-character-short')).toBeNull());
    expect(sent('GET', '/api/templates?source=mine')).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'All' }));
    await screen.findByTestId('template-character-short');
    fireEvent.change(screen.getByRole('combobox', { name: 'Category' }), {
      target: { value: 'Intros' },
    });
    await waitFor(() => expect(sent('GET', '/api/templates?category=Intros')).toHaveLength(1));
    routes['GET /api/templates?q=mira&category=Intros'] = { body: [mine] };
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search templates' }), {
      target: { value: ' mira ' },
    });
    // One request after typing pauses, with the trimmed text and the category kept.
    await waitFor(() =>
      expect(sent('GET', '/api/templates?q=mira&category=Intros')).toHaveLength(1),
    );
  });

  it('refuses a bad value in the form, then runs the template and shows its video', async () => {
    renderPage();
    fireEvent.click(await screen.findByTestId('use-template-character-short'));
    const dialog = await screen.findByRole('dialog', { name: /New from “Character short”/ });
    const shots = within(within(dialog).getByTestId('field-story.shots')).getByRole('spinbutton');
    expect((shots as HTMLInputElement).value).toBe('4');
    fireEvent.change(shots, { target: { value: '99' } });
    expect(within(dialog).getByText('must be at most 24')).toBeTruthy();
    expect(within(dialog).getByTestId('run-template')).toHaveProperty('disabled', true);
    expect(within(dialog).getByTestId('instantiate')).toHaveProperty('disabled', true);
    expect(within(dialog).getByTestId('values-invalid').textContent).toBe('Fix 1 value first');
    fireEvent.click(within(dialog).getByTestId('run-template'));
    expect(sent('POST', '/api/runs')).toHaveLength(0);

    fireEvent.change(shots, { target: { value: '3' } });
    fireEvent.click(within(dialog).getByTestId('run-template'));
    const player = await screen.findByTestId('template-video');
    expect(player.getAttribute('src')).toBe('/api/artifacts/art_out');
    expect(sent('POST', '/api/runs')[0].body).toEqual({
      templateId: 'character-short',
      values: { 'script.text': 'Hello.', 'story.shots': 3 },
    });
    expect(screen.getByTestId('template-run').getAttribute('data-status')).toBe('succeeded');
  });

  it('uses an older version from the versions list', async () => {
    renderPage();
    const own = await screen.findByTestId('template-tpl_mine');
    fireEvent.click(within(own).getByRole('button', { name: 'Versions' }));
    const versions = await screen.findByTestId('template-versions');
    await within(versions).findByText('v1');
    fireEvent.click(within(versions).getByRole('button', { name: 'Use v1' }));
    const dialog = await screen.findByRole('dialog', { name: /New from “Mira intro” \(v1\)/ });
    fireEvent.click(within(dialog).getByTestId('instantiate'));
    await waitFor(() =>
      expect(sent('POST', '/api/templates/tpl_mine/instantiate')[0]?.body).toEqual({
        values: { 'script.text': 'Hello.', 'story.shots': 4 },
        version: 1,
      }),
    );
  });

  it('imports a template file and refuses a file that is not JSON without sending it', async () => {
    renderPage();
    await screen.findByTestId('template-tpl_mine');
    const input = screen.getByTestId('import-template-file');
    const file = (text: string) => new File([text], 'tpl.json', { type: 'application/json' });
    fireEvent.change(input, { target: { files: [file('not json')] } });
    await screen.findByText('Not a template file');
    expect(sent('POST', '/api/templates/import')).toHaveLength(0);
    const body = { schema: 'character-lab/template', version: 1, template: { name: 'X' } };
    fireEvent.change(input, { target: { files: [file(JSON.stringify(body))] } });
    await waitFor(() => expect(sent('POST', '/api/templates/import')[0]?.body).toEqual(body));
    await screen.findByText('Imported “Mira intro”');
  });
});

// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GraphDocument } from '../api/types';
import { characterShort } from '../test/fixtures';
import { ToastProvider } from '../ui/toasts';
import { SaveTemplateDialog } from './SaveTemplateDialog';

interface Call {
  method: string;
  url: string;
  body: unknown;
}

const ref = (id: string, mime: string) => ({ id, mime, bytes: 10, sha256: 'b'.repeat(64) });
const mine = {
  id: 'tpl_mine',
  name: 'Mira intro',
  description: '',
  category: 'Intros',
  version: 2,
  source: 'mine',
  preview: null,
  exposed: [],
};

let calls: Call[] = [];
let routes: Record<string, { status?: number; body: unknown }> = {};

beforeEach(() => {
  calls = [];
  routes = {
    'GET /api/templates': { body: [mine] },
    'GET /api/runs?workflowId=wf_test&limit=10': {
      body: [
        { id: 'run_failed', status: 'failed', createdAt: '2026-12-01T12:00:00Z', outputs: {} },
        { id: 'run_ok', status: 'succeeded', createdAt: '2026-12-01T11:00:00Z', outputs: {} },
      ],
    },
    'GET /api/runs/run_ok': {
      body: {
        runId: 'run_ok',
        status: 'succeeded',
        seq: 20,
        nodes: {
          frames: {
            status: 'succeeded',
            progress: 1,
            outputs: { frames: [ref('art_f1', 'image/png'), ref('art_f2', 'image/png')] },
          },
          merge: {
            status: 'succeeded',
            progress: 1,
            outputs: { video: ref('art_v', 'video/mp4') },
          },
        },
        outputs: { merge: { video: ref('art_v', 'video/mp4') } },
      },
    },
    'POST /api/templates': { status: 201, body: { ...mine, id: 'tpl_new', version: 1 } },
    'PUT /api/templates/tpl_mine': { body: { ...mine, version: 3 } },
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

function renderDialog(graph: GraphDocument, workflowId: string | null = 'wf_test') {
  const onSaved = vi.fn();
  const flush = vi.fn(() => Promise.resolve('wf_test'));
  render(
    <ToastProvider>
      <SaveTemplateDialog
        graph={graph}
        workflowId={workflowId}
        flush={flush}
        onSaved={onSaved}
        onClose={() => {}}
      />
    </ToastProvider>,
  );
  return { onSaved, flush };
}

const posted = (method: string, url: string) =>
  calls.filter((c) => c.method === method && c.url === url).map((c) => c.body);

describe('SaveTemplateDialog', () => {
  it('saves a new template with the last good run’s video as its preview', async () => {
    const graph = characterShort();
    const { onSaved, flush } = renderDialog(graph);
    const dialog = screen.getByRole('dialog', { name: 'Save as template' });
    // The newest succeeded run is looked at (the failed one after it is skipped).
    const videoChoice = await within(dialog).findByRole('radio', { name: /last run’s video/ });
    expect(videoChoice).toHaveProperty('checked', true);
    expect(within(dialog).getAllByRole('radio', { name: /Key frame/ })).toHaveLength(2);
    fireEvent.change(within(dialog).getByLabelText('Category'), { target: { value: 'Shorts' } });
    fireEvent.click(within(dialog).getByTestId('save-template'));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(flush).toHaveBeenCalledOnce();
    expect(posted('POST', '/api/templates')).toEqual([
      {
        graph,
        name: graph.name,
        description: graph.description,
        category: 'Shorts',
        preview: { runId: 'run_ok' },
      },
    ]);
    expect(onSaved.mock.calls[0][0]).toMatchObject({ id: 'tpl_new', version: 1 });
  });

  it('makes a new version when the workflow came from one of my templates, with a key frame', async () => {
    const graph = { ...characterShort(), meta: { template: { id: 'tpl_mine', version: 2 } } };
    const { onSaved } = renderDialog(graph);
    const dialog = screen.getByRole('dialog', { name: 'Save as template' });
    await waitFor(() =>
      expect(within(dialog).getByTestId('save-template').textContent).toBe('Save version 3'),
    );
    fireEvent.click(await within(dialog).findByRole('radio', { name: 'Key frame 2' }));
    fireEvent.click(within(dialog).getByTestId('save-template'));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(posted('POST', '/api/templates')).toHaveLength(0);
    expect(posted('PUT', '/api/templates/tpl_mine')).toEqual([
      {
        graph,
        name: graph.name,
        description: graph.description,
        category: 'Intros',
        preview: { artifactId: 'art_f2' },
      },
    ]);
  });

  it('offers only the graph before any run and needs a name', async () => {
    renderDialog(characterShort(), null);
    const dialog = screen.getByRole('dialog', { name: 'Save as template' });
    await within(dialog).findByText(/Run the workflow once/);
    expect(within(dialog).getAllByRole('radio')).toHaveLength(1);
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: ' ' } });
    expect(within(dialog).getByText('A template needs a name.')).toBeTruthy();
    expect(within(dialog).getByTestId('save-template')).toHaveProperty('disabled', true);
  });
});

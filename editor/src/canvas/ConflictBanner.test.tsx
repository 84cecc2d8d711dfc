// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { useReducer } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { catalog, characterShort } from '../test/fixtures';
import { ConflictBanner } from './ConflictBanner';
import { editorReducer, initialEditorState } from './editor-state';
import { useAutosave } from './useAutosave';

interface Call {
  method: string;
  url: string;
  body?: Record<string, unknown>;
}

/** The server: workflow wf_1 at revision 4 (saved elsewhere); the studio loaded revision 3. */
function serverFetch(calls: Call[]): typeof fetch {
  const saved = { id: 'wf_1', name: 'Saved elsewhere', revision: 4, graph: characterShort() };
  saved.graph = { ...saved.graph, id: 'wf_1', name: 'Saved elsewhere' };
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : String(input);
    const method = init?.method ?? 'GET';
    const body = init?.body
      ? (JSON.parse(String(init.body)) as Record<string, unknown>)
      : undefined;
    calls.push({ method, url, body });
    const json = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    if (method === 'PUT') {
      return json(409, {
        error: {
          code: 'workflow_conflict',
          message: 'workflow wf_1 was changed elsewhere',
          details: { revision: 4, yourRevision: body?.revision },
        },
      });
    }
    if (method === 'GET') return json(200, saved);
    return json(201, { ...(body?.graph as object), graph: body?.graph, id: 'wf_2', revision: 1 });
  }) as typeof fetch;
}

function Studio(props: { onCopied(id: string): void; onError(error: unknown): void }) {
  const [state, dispatch] = useReducer(editorReducer, undefined, () =>
    initialEditorState({ ...characterShort(), id: 'wf_1', name: 'Mine' }, catalog()),
  );
  const saver = useAutosave({
    state,
    dispatch,
    workflowId: 'wf_1',
    initialRevision: 3,
    onCreated: () => {},
    onCopied: props.onCopied,
    onError: props.onError,
  });
  return (
    <div>
      <button onClick={() => dispatch({ type: 'setMeta', name: 'Mine, edited' })}>edit</button>
      <output data-testid="name">{state.meta.name}</output>
      <output data-testid="status">{saver.status.kind}</output>
      {saver.conflict && (
        <ConflictBanner
          conflict={saver.conflict}
          onReload={() => void saver.reload()}
          onSaveCopy={() => void saver.saveAsCopy()}
        />
      )}
    </div>
  );
}

describe('save conflicts', () => {
  let calls: Call[];

  beforeEach(() => {
    calls = [];
    vi.stubGlobal('fetch', serverFetch(calls));
    localStorage.clear();
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('stops autosave, says what happened and reloads the saved version', async () => {
    const onError = vi.fn();
    render(<Studio onCopied={() => {}} onError={onError} />);
    fireEvent.click(screen.getByText('edit'));
    const banner = await screen.findByTestId('save-conflict', {}, { timeout: 3000 });
    expect(banner.textContent).toContain(
      'This workflow was changed elsewhere (revision 4). Reload it, or save your version as a copy.',
    );
    // The save sent the revision it was loaded at, and no error toast was raised.
    expect(calls).toEqual([
      expect.objectContaining({
        method: 'PUT',
        url: '/api/workflows/wf_1',
        body: expect.objectContaining({ revision: 3 }),
      }),
    ]);
    expect(onError).not.toHaveBeenCalled();
    // Autosave waits for the user's choice: no second PUT.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(calls.filter((call) => call.method === 'PUT')).toHaveLength(1);

    fireEvent.click(screen.getByRole('button', { name: 'Reload' }));
    await waitFor(() => expect(screen.queryByTestId('save-conflict')).toBeNull());
    expect(screen.getByTestId('name').textContent).toBe('Saved elsewhere');
    expect(screen.getByTestId('status').textContent).toBe('saved');
    expect(calls.at(-1)).toMatchObject({ method: 'GET', url: '/api/workflows/wf_1' });
  });

  it('saves the local graph as a new workflow', async () => {
    const onCopied = vi.fn();
    render(<Studio onCopied={onCopied} onError={() => {}} />);
    fireEvent.click(screen.getByText('edit'));
    await screen.findByTestId('save-conflict', {}, { timeout: 3000 });
    fireEvent.click(screen.getByRole('button', { name: 'Save as copy' }));
    await waitFor(() => expect(onCopied).toHaveBeenCalledWith('wf_2'));
    const post = calls.find((call) => call.method === 'POST');
    expect(post?.url).toBe('/api/workflows');
    expect(post?.body?.graph).toMatchObject({ name: 'Mine, edited (copy)' });
  });
});

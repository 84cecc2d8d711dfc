// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { useCallback, useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ImportResult } from '../api/client';
import { fakeFetch } from '../test/render';
import { ImportDialog } from './ImportDialog';
import { ImportProblems } from './ImportProblems';
import { useImporter } from './useImporter';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const problems = [
  {
    code: 'invalid_document',
    message: 'nodes[0].position.x: expected a number: fix the file',
    path: 'nodes[0].position.x',
  },
  {
    code: 'unknown_node_type',
    message: 'node "b" has the type "teleporter": delete it',
    nodeId: 'b',
  },
  {
    code: 'dangling_edge',
    message: 'edge "e1" points at a missing target node "ghost"',
    edgeId: 'e1',
  },
  { code: 'invalid_param', message: 'param "seed" is too big', nodeId: 'b', param: 'seed' },
];

describe('ImportProblems', () => {
  it('lists every problem, grouped by document, node and edge, with codes and locations', () => {
    render(<ImportProblems problems={problems} source="hero.json" />);
    const view = screen.getByRole('alert', { name: 'Import problems' });
    expect(within(view).getByRole('heading', { level: 3 }).textContent).toBe(
      'hero.json cannot be imported: 4 problems',
    );
    expect(
      within(view)
        .getAllByRole('heading', { level: 4 })
        .map((h) => h.textContent),
    ).toEqual(['The document', 'Node “b”', 'Edge “e1”']);
    expect(view.querySelectorAll('.import-problem')).toHaveLength(4);
    expect(within(view).getByText('param seed')).toBeTruthy();
    expect(within(view).getByText('nodes[0].position.x')).toBeTruthy();
    expect(
      within(view).getAllByText(
        /^(invalid_document|unknown_node_type|dangling_edge|invalid_param)$/,
      ),
    ).toHaveLength(4);
  });

  it('copies the problems as text', async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    render(<ImportProblems problems={problems.slice(1, 2)} source="x.json" />);
    fireEvent.click(screen.getByRole('button', { name: 'Copy problems' }));
    expect(writeText).toHaveBeenCalledWith(
      '- [unknown_node_type] (node b) node "b" has the type "teleporter": delete it',
    );
  });
});

function ImportHarness({ onImported }: { onImported(result: ImportResult): void }) {
  const importer = useImporter(useCallback((r: ImportResult) => onImported(r), [onImported]));
  const [opened] = useState(() => {
    importer.open();
    return true;
  });
  return opened && importer.state.open ? (
    <ImportDialog
      state={importer.state}
      onFile={(file) => void importer.importFile(file)}
      onText={(text) => void importer.importText(text, 'the pasted text')}
      onClose={importer.close}
    />
  ) : null;
}

describe('the import error view in the import dialog', () => {
  it('shows where a file stops being JSON, without asking the server', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    render(<ImportHarness onImported={() => {}} />);
    const input = screen.getByTestId('import-file');
    await act(async () => {
      fireEvent.change(input, {
        target: {
          files: [new File(['{\n  "nodes": [\n'], 'cut.json', { type: 'application/json' })],
        },
      });
    });
    const view = await screen.findByRole('alert', { name: 'Import problems' });
    expect(view.textContent).toMatch(/cut\.json is not valid JSON at line 3/);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shows every problem the server reports for a file it refuses', async () => {
    vi.stubGlobal(
      'fetch',
      fakeFetch({
        'POST /api/workflows/import': {
          status: 400,
          body: {
            error: {
              code: 'invalid_graph',
              message: 'the graph has 4 problems',
              details: { errors: problems },
            },
          },
        },
      }),
    );
    const onImported = vi.fn();
    render(<ImportHarness onImported={onImported} />);
    fireEvent.change(screen.getByLabelText('…or paste the graph JSON'), {
      target: { value: '{"schema":"character-lab/graph"}' },
    });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Import pasted JSON' }));
    });
    const view = await screen.findByRole('alert', { name: 'Import problems' });
    expect(view.textContent).toContain('the pasted text cannot be imported: 4 problems');
    expect(view.querySelectorAll('.import-problem')).toHaveLength(4);
    expect(onImported).not.toHaveBeenCalled();
  });

  it('refuses a file that is not .json by name', async () => {
    render(<ImportHarness onImported={() => {}} />);
    await act(async () => {
      fireEvent.change(screen.getByTestId('import-file'), {
        target: { files: [new File(['x'], 'clip.mp4', { type: 'video/mp4' })] },
      });
    });
    expect((await screen.findByRole('alert', { name: 'Import problems' })).textContent).toContain(
      'clip.mp4 is not a .json file',
    );
  });
});

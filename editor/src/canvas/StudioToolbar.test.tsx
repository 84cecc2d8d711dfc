// @vitest-environment jsdom
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { catalog, characterShort, emptyDocument } from '../test/fixtures';
import { renderInStudio } from '../test/render';
import { initialEditorState } from './editor-state';
import { indexProblems } from './studio-context';
import type { StudioToolbarProps } from './StudioToolbar';
import { StudioToolbar } from './StudioToolbar';
import type { RunActions } from './useRunActions';

const idle: RunActions = {
  busy: false,
  status: undefined,
  active: false,
  changedSinceRun: false,
  run: () => Promise.resolve(),
  rerun: () => Promise.resolve(),
  regenerate: () => Promise.resolve(),
  cancel: () => Promise.resolve(),
  open: () => {},
};

function renderToolbar(props: Partial<StudioToolbarProps> = {}, problems = indexProblems([])) {
  const all: StudioToolbarProps = {
    state: initialEditorState(characterShort(), catalog()),
    dispatch: () => {},
    save: { kind: 'saved' },
    onRetrySave: vi.fn(),
    snap: true,
    onToggleSnap: vi.fn(),
    onImport: vi.fn(),
    onExport: vi.fn(),
    onHelp: vi.fn(),
    onShowProblems: vi.fn(),
    runs: idle,
    ...props,
  };
  return { ...renderInStudio(<StudioToolbar {...all} />, { problems }), props: all };
}

afterEach(cleanup);

describe('StudioToolbar', () => {
  it('renames the workflow and runs it', () => {
    const run = vi.fn(() => Promise.resolve());
    const dispatch = vi.fn();
    renderToolbar({ dispatch, runs: { ...idle, run } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Workflow name' }), {
      target: { value: 'Mira at the sea' },
    });
    expect(dispatch).toHaveBeenCalledWith({ type: 'setMeta', name: 'Mira at the sea' });
    fireEvent.click(screen.getByTestId('run'));
    expect(run).toHaveBeenCalledOnce();
    expect(screen.getByTestId('save-state').textContent).toBe('✓ Saved');
  });

  it('opens "Save as template", not for an empty graph', () => {
    const onSaveTemplate = vi.fn();
    renderToolbar({ onSaveTemplate });
    fireEvent.click(screen.getByTestId('open-save-template'));
    expect(onSaveTemplate).toHaveBeenCalledOnce();
    cleanup();
    renderToolbar({ onSaveTemplate, state: initialEditorState(emptyDocument(), catalog()) });
    expect(screen.getByTestId('open-save-template')).toHaveProperty('disabled', true);
  });

  it('cannot run an empty graph or undo before any edit', () => {
    renderToolbar({ state: initialEditorState(emptyDocument(), catalog()) });
    expect(screen.getByTestId('run')).toHaveProperty('disabled', true);
    expect(screen.getByRole('button', { name: 'Undo' })).toHaveProperty('disabled', true);
  });

  it('counts the problems and shows them on request', () => {
    const problems = indexProblems([
      { code: 'missing_required_input', message: 'm', nodeId: 'story' },
      { code: 'cycle', message: 'c' },
    ]);
    const { props } = renderToolbar({}, problems);
    expect(screen.getByTestId('problems-badge').textContent).toBe('⚠ 2 problems');
    fireEvent.click(screen.getByTestId('problems-badge'));
    expect(props.onShowProblems).toHaveBeenCalledOnce();
  });

  it('offers Cancel while the viewed run is going and Re-run once the graph changed', () => {
    const cancel = vi.fn(() => Promise.resolve());
    renderToolbar({ runs: { ...idle, active: true, cancel } });
    expect(screen.queryByTestId('run')).toBeNull();
    fireEvent.click(screen.getByTestId('cancel-run'));
    expect(cancel).toHaveBeenCalledOnce();
    cleanup();
    renderToolbar({ runs: { ...idle, status: 'succeeded', changedSinceRun: true } });
    expect(screen.getByRole('button', { name: 'Re-run with changes' })).toBeTruthy();
  });
});

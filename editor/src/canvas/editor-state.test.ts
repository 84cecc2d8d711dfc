import { describe, expect, it } from 'vitest';
import { catalog, characterShort, emptyDocument } from '../test/fixtures';
import type { EditorAction, EditorState } from './editor-state';
import {
  canRedo,
  canUndo,
  currentDocument,
  editorReducer,
  initialEditorState,
  isDirty,
  selectedNodeIds,
} from './editor-state';

const run = (state: EditorState, ...actions: EditorAction[]) =>
  actions.reduce(editorReducer, state);

function empty() {
  return initialEditorState(emptyDocument(), catalog());
}

describe('editorReducer', () => {
  it('round-trips a document unchanged', () => {
    const doc = characterShort();
    expect(currentDocument(initialEditorState(doc, catalog()))).toEqual(doc);
  });

  it('adds a node with default params, a readable unique id and selects it', () => {
    let state = run(empty(), {
      type: 'addNode',
      nodeType: 'sd-lora-frame',
      position: { x: 10.4, y: 20 },
    });
    state = run(state, { type: 'addNode', nodeType: 'sd-lora-frame', position: { x: 300, y: 20 } });
    const doc = currentDocument(state);
    expect(doc.nodes.map((n) => n.id)).toEqual(['frame', 'frame-2']);
    expect(doc.nodes[0]).toMatchObject({
      type: 'sd-lora-frame',
      typeVersion: 1,
      position: { x: 10, y: 20 },
    });
    expect(doc.nodes[0].params).toMatchObject({ seed: 42, width: 768, provider: 'auto' });
    expect(selectedNodeIds(state)).toEqual(['frame-2']);
    expect(isDirty(state)).toBe(true);
  });

  it('ignores an unknown node type', () => {
    const state = empty();
    expect(run(state, { type: 'addNode', nodeType: 'nope', position: { x: 0, y: 0 } })).toBe(state);
  });

  it('connects compatible ports and refuses incompatible ones', () => {
    let state = run(
      empty(),
      { type: 'addNode', nodeType: 'script-input', position: { x: 0, y: 0 } },
      { type: 'addNode', nodeType: 'gpt-storyboard', position: { x: 300, y: 0 } },
      { type: 'addNode', nodeType: 'sd-lora-frame', position: { x: 600, y: 0 } },
    );
    const refused = run(state, {
      type: 'connect',
      connection: {
        source: 'script',
        sourceHandle: 'text',
        target: 'frame',
        targetHandle: 'storyboard',
      },
    });
    expect(refused).toBe(state);
    state = run(state, {
      type: 'connect',
      connection: {
        source: 'script',
        sourceHandle: 'text',
        target: 'storyboard',
        targetHandle: 'script',
      },
    });
    expect(currentDocument(state).edges).toEqual([
      {
        id: 'e-script-storyboard',
        source: 'script',
        sourcePort: 'text',
        target: 'storyboard',
        targetPort: 'script',
      },
    ]);
    expect(state.edges[0].data).toEqual({ kind: 'text', list: false });
  });

  it('replaces the edge into a single input and keeps several into a multiple one', () => {
    const doc = characterShort();
    let state = initialEditorState(doc, catalog());
    state = run(state, { type: 'addNode', nodeType: 'script-input', position: { x: 0, y: 600 } });
    state = run(state, {
      type: 'connect',
      connection: {
        source: 'script-2',
        sourceHandle: 'text',
        target: 'story',
        targetHandle: 'script',
      },
    });
    const into = currentDocument(state).edges.filter(
      (e) => e.target === 'story' && e.targetPort === 'script',
    );
    expect(into.map((e) => e.source)).toEqual(['script-2']);

    state = run(state, { type: 'addNode', nodeType: 'runway-clip', position: { x: 900, y: 600 } });
    state = run(state, {
      type: 'connect',
      connection: { source: 'clip', sourceHandle: 'clips', target: 'merge', targetHandle: 'clips' },
    });
    const clipsIn = currentDocument(state).edges.filter(
      (e) => e.target === 'merge' && e.targetPort === 'clips',
    );
    expect(clipsIn.map((e) => e.source)).toEqual(['clips', 'clip']);
  });

  it('refuses an edge that would close a loop', () => {
    const state = initialEditorState(characterShort(), catalog());
    const next = run(state, {
      type: 'connect',
      connection: {
        source: 'merge',
        sourceHandle: 'video',
        target: 'frames',
        targetHandle: 'storyboard',
      },
    });
    expect(next).toBe(state);
  });

  it('deletes the selection with its edges and exposed params, undo and redo restore it', () => {
    const doc = characterShort();
    let state = initialEditorState(doc, catalog());
    state = run(state, { type: 'select', nodeIds: ['story'] }, { type: 'deleteSelection' });
    const after = currentDocument(state);
    expect(after.nodes.map((n) => n.id)).not.toContain('story');
    expect(after.edges.some((e) => e.source === 'story' || e.target === 'story')).toBe(false);
    expect(after.exposed.map((e) => e.nodeId)).toEqual(['script', 'character']);

    state = run(state, { type: 'undo' });
    expect(currentDocument(state)).toEqual(doc);
    expect(canRedo(state)).toBe(true);
    state = run(state, { type: 'redo' });
    expect(currentDocument(state)).toEqual(after);
    expect(canUndo(state)).toBe(true);
  });

  it('makes one undo step of a whole drag', () => {
    let state = initialEditorState(characterShort(), catalog());
    const move = (x: number, dragging: boolean): EditorAction => ({
      type: 'nodesChange',
      changes: [{ type: 'position', id: 'script', position: { x, y: 40 }, dragging }],
    });
    state = run(state, move(10, true), move(20, true), move(30, true), move(30, false));
    expect(state.past).toHaveLength(1);
    expect(currentDocument(state).nodes[0].position).toEqual({ x: 30, y: 40 });
    state = run(state, move(60, true), move(70, false));
    expect(state.past).toHaveLength(2);
    state = run(state, { type: 'undo' }, { type: 'undo' });
    expect(currentDocument(state).nodes[0].position).toEqual({ x: 0, y: 40 });
  });

  it('makes one undo step of typing in one field, another for the next field', () => {
    let state = initialEditorState(characterShort(), catalog());
    for (const text of ['H', 'He', 'Hey']) {
      state = run(state, { type: 'setParam', nodeId: 'script', param: 'text', value: text });
    }
    state = run(state, { type: 'setParam', nodeId: 'story', param: 'shots', value: 6 });
    expect(state.past).toHaveLength(2);
    state = run(state, { type: 'undo' });
    expect(currentDocument(state).nodes[0].params.text).toBe('Hey');
    state = run(state, { type: 'undo' });
    expect(currentDocument(state)).toEqual(characterShort());
  });

  it('pastes a fragment with fresh ids, remapped edges, offset and selected', () => {
    const doc = characterShort();
    let state = initialEditorState(doc, catalog());
    state = run(state, { type: 'select', nodeIds: ['script', 'story'] }, { type: 'duplicate' });
    const after = currentDocument(state);
    expect(after.nodes.map((n) => n.id).slice(-2)).toEqual(['script-2', 'story-2']);
    expect(after.nodes.find((n) => n.id === 'script-2')!.position).toEqual({ x: 40, y: 80 });
    expect(after.edges.at(-1)).toMatchObject({ source: 'script-2', target: 'story-2' });
    expect(selectedNodeIds(state)).toEqual(['script-2', 'story-2']);
    expect(state.past).toHaveLength(1);
  });

  it('aligns the selected nodes in one step', () => {
    let state = initialEditorState(characterShort(), catalog());
    state = run(
      state,
      { type: 'select', nodeIds: ['script', 'story', 'merge'] },
      { type: 'align', mode: 'top' },
    );
    const ys = currentDocument(state)
      .nodes.filter((n) => ['script', 'story', 'merge'].includes(n.id))
      .map((n) => n.position.y);
    expect(ys).toEqual([40, 40, 40]);
    expect(state.past).toHaveLength(1);
  });

  it('removes nodes React Flow reports removed as one undo step', () => {
    let state = initialEditorState(characterShort(), catalog());
    state = run(state, { type: 'nodesChange', changes: [{ type: 'remove', id: 'frames' }] });
    expect(currentDocument(state).nodes.map((n) => n.id)).not.toContain('frames');
    expect(
      currentDocument(state).edges.some((e) => e.target === 'frames' || e.source === 'frames'),
    ).toBe(false);
    expect(run(state, { type: 'undo' }).nodes).toHaveLength(characterShort().nodes.length);
  });

  it('wires a node added from a dropped connection to the first compatible port', () => {
    let state = run(empty(), {
      type: 'addNode',
      nodeType: 'gpt-storyboard',
      position: { x: 0, y: 0 },
    });
    state = run(state, {
      type: 'addNode',
      nodeType: 'runway-clip',
      position: { x: 400, y: 0 },
      connectFrom: { nodeId: 'storyboard', handleId: 'storyboard', handleType: 'source' },
    });
    expect(currentDocument(state).edges).toEqual([
      {
        id: 'e-storyboard-clip',
        source: 'storyboard',
        sourcePort: 'storyboard',
        target: 'clip',
        targetPort: 'storyboard',
      },
    ]);
    expect(state.past).toHaveLength(2);
    expect(currentDocument(run(state, { type: 'undo' })).nodes).toHaveLength(1);
  });

  it('renames, labels and exposes params, tracking saved state', () => {
    let state = initialEditorState(characterShort(), catalog());
    state = run(
      state,
      { type: 'setMeta', name: 'Hero intro' },
      { type: 'setLabel', nodeId: 'story', label: 'Plot' },
      { type: 'toggleExposed', nodeId: 'frames', param: 'seed', label: 'Seed' },
    );
    const doc = currentDocument(state);
    expect(doc.name).toBe('Hero intro');
    expect(doc.nodes.find((n) => n.id === 'story')!.label).toBe('Plot');
    expect(doc.exposed.at(-1)).toEqual({ nodeId: 'frames', param: 'seed', label: 'Seed' });
    expect(isDirty(state)).toBe(true);
    state = run(state, { type: 'saved', revision: state.revision });
    expect(isDirty(state)).toBe(false);
    state = run(state, { type: 'toggleExposed', nodeId: 'frames', param: 'seed', label: 'Seed' });
    expect(currentDocument(state).exposed).toHaveLength(3);
  });

  it('edits how an exposed param is asked for: label, help and an optional default', () => {
    let state = run(initialEditorState(characterShort(), catalog()), {
      type: 'toggleExposed',
      nodeId: 'frames',
      param: 'seed',
      label: 'Seed',
    });
    const before = currentDocument(state).exposed.length;
    state = run(
      state,
      { type: 'editExposed', nodeId: 'frames', param: 'seed', label: 'Look seed' },
      { type: 'editExposed', nodeId: 'frames', param: 'seed', help: 'Same seed, same look' },
      { type: 'editExposed', nodeId: 'frames', param: 'seed', default: 7 },
      // An emptied label keeps the last good one: the document never holds an invalid entry.
      { type: 'editExposed', nodeId: 'frames', param: 'seed', label: '  ' },
    );
    const entry = () =>
      currentDocument(state).exposed.find((e) => e.nodeId === 'frames' && e.param === 'seed');
    expect(entry()).toEqual({
      nodeId: 'frames',
      param: 'seed',
      label: 'Look seed',
      help: 'Same seed, same look',
      default: 7,
    });
    expect(currentDocument(state).exposed).toHaveLength(before);
    state = run(
      state,
      { type: 'editExposed', nodeId: 'frames', param: 'seed', help: '' },
      { type: 'editExposed', nodeId: 'frames', param: 'seed', default: undefined },
    );
    expect(entry()).toEqual({ nodeId: 'frames', param: 'seed', label: 'Look seed' });
    // Not exposed: nothing to edit, nothing changes.
    const unchanged = run(state, { type: 'editExposed', nodeId: 'clip', param: 'x', label: 'X' });
    expect(unchanged).toBe(state);
  });

  it('records the template the workflow was saved as in the document meta', () => {
    const state = run(initialEditorState(characterShort(), catalog()), {
      type: 'setTemplateOrigin',
      id: 'tpl_1',
      version: 2,
    });
    const doc = currentDocument(state);
    expect(doc.meta.template).toEqual({ id: 'tpl_1', version: 2 });
    expect(doc.meta.createdWith).toBe(characterShort().meta.createdWith);
  });
});

describe('replace', () => {
  it('swaps the document as one undoable edit, keeping the workflow id', () => {
    const state = initialEditorState(emptyDocument(), catalog());
    const replaced = editorReducer(state, { type: 'replace', doc: characterShort() });
    const doc = currentDocument(replaced);
    expect(doc.id).toBe('wf_test');
    expect(doc.nodes).toHaveLength(characterShort().nodes.length);
    expect(isDirty(replaced)).toBe(true);
    expect(currentDocument(editorReducer(replaced, { type: 'undo' }))).toEqual(emptyDocument());
  });
});

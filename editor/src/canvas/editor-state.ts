/**
 * The editor's state and every edit as a pure reducer: React Flow's changes, connections,
 * adding, pasting, aligning, params, undo and redo. Undo keeps whole documents (cheap: nodes
 * are immutable and shared between entries) and coalesces bursts (one drag, one typing run
 * in a field) into one step, as users expect from any editor.
 */
import { applyEdgeChanges, applyNodeChanges } from '@xyflow/react';
import type { EdgeChange, NodeChange, XYPosition } from '@xyflow/react';
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from '../../../engine/graph/document';
import type { GraphDocument } from '../../../engine/graph/document';
import type { ExposedEntry } from '../api/types';
import type { Catalog } from './catalog';
import { defaultParams, findPort, nodeIdBase, uniqueId } from './catalog';
import type { AlignMode } from './align';
import { align } from './align';
import type { GraphFragment } from './clipboard';
import { placeFragment } from './clipboard';
import type { ConnectionLike } from './connection';
import { checkConnection, handleAccepts } from './connection';
import type { DocumentMeta, FlowEdge, FlowNode } from './flow-mapping';
import {
  metaOf,
  toDocument,
  toFlow,
  toFlowEdge,
  toFlowNode,
  toGraphEdge,
  toGraphNode,
} from './flow-mapping';

/** Undo depth; older steps are dropped. */
export const HISTORY_LIMIT = 200;

/** The size assumed for a node React Flow has not measured yet (aligning right after adding). */
export const DEFAULT_NODE_SIZE = { width: 240, height: 120 };

export interface EditorState {
  meta: DocumentMeta;
  nodes: FlowNode[];
  edges: FlowEdge[];
  catalog: Catalog;
  past: GraphDocument[];
  future: GraphDocument[];
  /** Coalescing key of the last undo step: the same key again adds no new step. */
  historyKey: string | null;
  /** Bumped by every change to the document; autosave compares it with `savedRevision`. */
  revision: number;
  savedRevision: number;
}

export type EditorAction =
  | { type: 'load'; doc: GraphDocument; catalog: Catalog }
  /** Swaps the whole document as one undoable edit (restoring a kept draft). */
  | { type: 'replace'; doc: GraphDocument }
  | { type: 'nodesChange'; changes: NodeChange<FlowNode>[] }
  | { type: 'edgesChange'; changes: EdgeChange<FlowEdge>[] }
  | { type: 'connect'; connection: ConnectionLike }
  | {
      type: 'addNode';
      nodeType: string;
      position: XYPosition;
      /** Wire the new node to this handle (dropping a dragged connection on empty canvas). */
      connectFrom?: { nodeId: string; handleId: string; handleType: 'source' | 'target' };
    }
  | { type: 'setParam'; nodeId: string; param: string; value: unknown }
  | { type: 'setLabel'; nodeId: string; label: string }
  | { type: 'setMeta'; name?: string; description?: string }
  | { type: 'toggleExposed'; nodeId: string; param: string; label: string }
  /**
   * Edits how an exposed param is asked for. `help: ''` removes the help; `default: undefined`
   * (present) removes the default, so the template's own value is offered.
   */
  | {
      type: 'editExposed';
      nodeId: string;
      param: string;
      label?: string;
      help?: string;
      default?: unknown;
    }
  /** Records the template this workflow was saved as, so saving again offers a new version. */
  | { type: 'setTemplateOrigin'; id: string; version: number }
  | { type: 'deleteSelection' }
  | { type: 'paste'; fragment: GraphFragment; at?: XYPosition }
  | { type: 'duplicate' }
  | { type: 'align'; mode: AlignMode }
  | { type: 'select'; nodeIds: readonly string[] }
  | { type: 'selectAll' }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'saved'; revision: number };

/** A fresh, empty workflow; it is saved (and gets its server id) on the first change or Run. */
export function newDocument(): GraphDocument {
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: `wf_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    name: 'Untitled workflow',
    description: '',
    nodes: [],
    edges: [],
    exposed: [],
    meta: { createdWith: 'character-lab-studio' },
  };
}

export function initialEditorState(doc: GraphDocument, catalog: Catalog): EditorState {
  const { nodes, edges } = toFlow(doc, catalog);
  return {
    meta: metaOf(doc),
    nodes,
    edges,
    catalog,
    past: [],
    future: [],
    historyKey: null,
    revision: 0,
    savedRevision: 0,
  };
}

/** The document as it stands (what autosave writes and Run sends). */
export function currentDocument(
  state: Pick<EditorState, 'meta' | 'nodes' | 'edges'>,
): GraphDocument {
  return toDocument(state.meta, state.nodes, state.edges);
}

export function selectedNodeIds(state: Pick<EditorState, 'nodes'>): string[] {
  return state.nodes.filter((node) => node.selected).map((node) => node.id);
}

export const canUndo = (state: EditorState): boolean => state.past.length > 0;
export const canRedo = (state: EditorState): boolean => state.future.length > 0;
export const isDirty = (state: EditorState): boolean => state.revision !== state.savedRevision;

/** Records an undo step (unless `key` continues the last one) and applies a document change. */
function commit(
  state: EditorState,
  change: Partial<Pick<EditorState, 'meta' | 'nodes' | 'edges'>>,
  key: string | null = null,
): EditorState {
  const continuing = key !== null && key === state.historyKey;
  const past = continuing
    ? state.past
    : [...state.past, currentDocument(state)].slice(-HISTORY_LIMIT);
  return {
    ...state,
    ...change,
    past,
    future: continuing ? state.future : [],
    historyKey: key,
    revision: state.revision + 1,
  };
}

function restore(state: EditorState, doc: GraphDocument): EditorState {
  const { nodes, edges } = toFlow(doc, state.catalog, state.nodes);
  return {
    ...state,
    meta: metaOf(doc),
    nodes,
    edges,
    historyKey: null,
    revision: state.revision + 1,
  };
}

function updateNode(
  nodes: readonly FlowNode[],
  id: string,
  update: (node: FlowNode) => FlowNode,
): FlowNode[] {
  return nodes.map((node) => (node.id === id ? update(node) : node));
}

function withSelection(nodes: readonly FlowNode[], selected: ReadonlySet<string>): FlowNode[] {
  return nodes.map((node) =>
    !!node.selected === selected.has(node.id) ? node : { ...node, selected: selected.has(node.id) },
  );
}

function deselectEdges(edges: readonly FlowEdge[]): FlowEdge[] {
  return edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge));
}

export function editorReducer(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case 'load':
      return initialEditorState(action.doc, action.catalog);

    case 'replace': {
      const { nodes, edges } = toFlow(action.doc, state.catalog, state.nodes);
      // The workflow keeps its own id: a draft kept under "new" must not rename it.
      return commit(state, { meta: { ...metaOf(action.doc), id: state.meta.id }, nodes, edges });
    }

    case 'nodesChange':
      return onNodesChange(state, action.changes);

    case 'edgesChange': {
      const removed = action.changes.some((change) => change.type === 'remove');
      const edges = applyEdgeChanges(action.changes, state.edges);
      return removed ? commit(state, { edges }) : { ...state, edges };
    }

    case 'connect':
      return connect(state, action.connection);

    case 'addNode':
      return addNode(state, action);

    case 'setParam': {
      const nodes = updateNode(state.nodes, action.nodeId, (node) => ({
        ...node,
        data: { ...node.data, params: { ...node.data.params, [action.param]: action.value } },
      }));
      return commit(state, { nodes }, `param:${action.nodeId}:${action.param}`);
    }

    case 'setLabel': {
      const nodes = updateNode(state.nodes, action.nodeId, (node) => {
        const { label: _previous, ...data } = node.data;
        const label = action.label.trim();
        return { ...node, data: label === '' ? data : { ...data, label: action.label } };
      });
      return commit(state, { nodes }, `label:${action.nodeId}`);
    }

    case 'setMeta': {
      const meta = {
        ...state.meta,
        ...(action.name === undefined ? {} : { name: action.name }),
        ...(action.description === undefined ? {} : { description: action.description }),
      };
      return commit(state, { meta }, action.name === undefined ? 'meta:description' : 'meta:name');
    }

    case 'toggleExposed': {
      const exposed = state.meta.exposed ?? [];
      const present = exposed.some((e) => e.nodeId === action.nodeId && e.param === action.param);
      const next = present
        ? exposed.filter((e) => !(e.nodeId === action.nodeId && e.param === action.param))
        : [...exposed, { nodeId: action.nodeId, param: action.param, label: action.label }];
      return commit(state, { meta: { ...state.meta, exposed: next } });
    }

    case 'editExposed': {
      const exposed = state.meta.exposed ?? [];
      const index = exposed.findIndex(
        (e) => e.nodeId === action.nodeId && e.param === action.param,
      );
      if (index < 0) return state;
      const entry: ExposedEntry = { ...exposed[index] };
      // An empty label would make the document invalid: keep the last good one.
      if (action.label !== undefined && action.label.trim() !== '') entry.label = action.label;
      if (action.help !== undefined) {
        if (action.help.trim() === '') delete entry.help;
        else entry.help = action.help;
      }
      if ('default' in action) {
        if (action.default === undefined) delete entry.default;
        else entry.default = action.default;
      }
      const next = exposed.map((e, i) => (i === index ? entry : e));
      return commit(
        state,
        { meta: { ...state.meta, exposed: next } },
        `exposed:${action.nodeId}.${action.param}`,
      );
    }

    case 'setTemplateOrigin': {
      const meta = { ...state.meta.meta, template: { id: action.id, version: action.version } };
      return commit(state, { meta: { ...state.meta, meta } });
    }

    case 'deleteSelection':
      return deleteSelection(state);

    case 'paste':
      return paste(
        state,
        action.fragment,
        action.at ? { at: action.at } : { offset: { x: 40, y: 40 } },
      );

    case 'duplicate': {
      const selected = new Set(selectedNodeIds(state));
      if (selected.size === 0) return state;
      const fragment: GraphFragment = {
        nodes: state.nodes.filter((n) => selected.has(n.id)).map(toGraphNode),
        edges: state.edges
          .filter((e) => selected.has(e.source) && selected.has(e.target))
          .map(toGraphEdge),
      };
      return paste(state, fragment, { offset: { x: 40, y: 40 } });
    }

    case 'align': {
      const boxes = state.nodes
        .filter((node) => node.selected)
        .map((node) => ({
          id: node.id,
          x: node.position.x,
          y: node.position.y,
          width: node.measured?.width ?? DEFAULT_NODE_SIZE.width,
          height: node.measured?.height ?? DEFAULT_NODE_SIZE.height,
        }));
      const moved = align(boxes, action.mode);
      if (moved.size === 0) return state;
      const nodes = state.nodes.map((node) => {
        const position = moved.get(node.id);
        return position ? { ...node, position } : node;
      });
      return commit(state, { nodes });
    }

    case 'select':
      return {
        ...state,
        nodes: withSelection(state.nodes, new Set(action.nodeIds)),
        edges: deselectEdges(state.edges),
      };

    case 'selectAll':
      return { ...state, nodes: withSelection(state.nodes, new Set(state.nodes.map((n) => n.id))) };

    case 'undo': {
      if (state.past.length === 0) return state;
      const previous = state.past[state.past.length - 1];
      const restored = restore(state, previous);
      return {
        ...restored,
        past: state.past.slice(0, -1),
        future: [currentDocument(state), ...state.future].slice(0, HISTORY_LIMIT),
      };
    }

    case 'redo': {
      if (state.future.length === 0) return state;
      const [next, ...rest] = state.future;
      const restored = restore(state, next);
      return { ...restored, past: [...state.past, currentDocument(state)], future: rest };
    }

    case 'saved':
      return { ...state, savedRevision: Math.max(state.savedRevision, action.revision) };
  }
}

function onNodesChange(state: EditorState, changes: NodeChange<FlowNode>[]): EditorState {
  const removed = changes.filter((c) => c.type === 'remove').map((c) => c.id);
  if (removed.length > 0) {
    const rest = changes.filter((c) => c.type !== 'remove');
    const selectedOnly = withSelection(state.nodes, new Set(removed));
    const afterDelete = deleteSelection({
      ...state,
      nodes: selectedOnly,
      edges: deselectEdges(state.edges),
    });
    return rest.length > 0 ? onNodesChange(afterDelete, rest) : afterDelete;
  }
  const moves = changes.filter((c) => c.type === 'position');
  const nodes = applyNodeChanges(changes, state.nodes);
  if (moves.length === 0) return { ...state, nodes };
  const dragging = moves.some((c) => c.dragging === true);
  const dragEnded = !dragging && state.historyKey === 'drag';
  const moved = moves.some((c) => c.position !== undefined);
  if (!moved) return { ...state, nodes, historyKey: dragEnded ? null : state.historyKey };
  if (!dragging && !dragEnded) return commit(state, { nodes }); // a keyboard nudge
  // A whole drag is one undo step; when it ends, the next drag starts a new one.
  const next = commit(state, { nodes }, 'drag');
  return dragEnded ? { ...next, historyKey: null } : next;
}

function connect(state: EditorState, connection: ConnectionLike): EditorState {
  const types = new Map(state.nodes.map((node) => [node.id, node.data.type]));
  const verdict = checkConnection(connection, (id) => types.get(id), state.edges, state.catalog);
  if (!verdict.ok) return state;
  const source = connection.source!;
  const target = connection.target!;
  const sourcePort = connection.sourceHandle ?? '';
  const targetPort = connection.targetHandle ?? '';
  const input = findPort(state.catalog, types.get(target)!, 'input', targetPort);
  // A single input holds one edge: a new connection replaces the old one (as in ComfyUI).
  const kept = input?.multiple
    ? state.edges
    : state.edges.filter((e) => !(e.target === target && e.targetHandle === targetPort));
  const id = uniqueId(`e-${source}-${target}`, new Set(state.edges.map((e) => e.id)));
  const edge = toFlowEdge({ id, source, sourcePort, target, targetPort }, types, state.catalog);
  return commit(state, { edges: [...kept, edge] });
}

function addNode(
  state: EditorState,
  action: Extract<EditorAction, { type: 'addNode' }>,
): EditorState {
  const info = state.catalog.get(action.nodeType);
  if (!info) return state;
  const id = uniqueId(nodeIdBase(info.type), new Set(state.nodes.map((n) => n.id)));
  const node: FlowNode = {
    ...toFlowNode(
      {
        id,
        type: info.type,
        typeVersion: info.typeVersion,
        position: { x: Math.round(action.position.x), y: Math.round(action.position.y) },
        params: defaultParams(info),
      },
      state.catalog,
    ),
    selected: true,
  };
  const nodes = [...state.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node];
  let next = commit(state, { nodes, edges: deselectEdges(state.edges) });
  const from = action.connectFrom;
  if (from) {
    const fromNode = state.nodes.find((n) => n.id === from.nodeId);
    const origin = fromNode && { ...from, nodeType: fromNode.data.type };
    const ports = from.handleType === 'source' ? info.inputs : info.outputs;
    const port =
      origin &&
      ports.find((p) =>
        handleAccepts(
          origin,
          id,
          info.type,
          p.id,
          from.handleType === 'source' ? 'target' : 'source',
          state.catalog,
        ),
      );
    if (port) {
      const connection =
        from.handleType === 'source'
          ? { source: from.nodeId, sourceHandle: from.handleId, target: id, targetHandle: port.id }
          : { source: id, sourceHandle: port.id, target: from.nodeId, targetHandle: from.handleId };
      const connected = connect({ ...next, historyKey: 'add-connect' }, connection);
      // Adding and wiring are one user action: one undo step.
      next = { ...connected, past: next.past, historyKey: null };
    }
  }
  return next;
}

function deleteSelection(state: EditorState): EditorState {
  const gone = new Set(selectedNodeIds(state));
  const edges = state.edges.filter(
    (edge) => !edge.selected && !gone.has(edge.source) && !gone.has(edge.target),
  );
  if (gone.size === 0 && edges.length === state.edges.length) return state;
  const nodes = state.nodes.filter((node) => !gone.has(node.id));
  const exposed = (state.meta.exposed ?? []).filter((entry) => !gone.has(entry.nodeId));
  return commit(state, { nodes, edges, meta: { ...state.meta, exposed } });
}

function paste(
  state: EditorState,
  fragment: GraphFragment,
  placement: Parameters<typeof placeFragment>[3],
): EditorState {
  if (fragment.nodes.length === 0) return state;
  const placed = placeFragment(
    fragment,
    new Set(state.nodes.map((n) => n.id)),
    new Set(state.edges.map((e) => e.id)),
    placement,
  );
  const types = new Map([
    ...state.nodes.map((n) => [n.id, n.data.type] as const),
    ...placed.nodes.map((n) => [n.id, n.type] as const),
  ]);
  const nodes = [
    ...state.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)),
    ...placed.nodes.map((n) => ({ ...toFlowNode(n, state.catalog), selected: true })),
  ];
  const edges = [
    ...deselectEdges(state.edges),
    ...placed.edges.map((e) => toFlowEdge(e, types, state.catalog)),
  ];
  return commit(state, { nodes, edges });
}

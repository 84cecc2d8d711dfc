/**
 * The React Flow canvas, controlled by the editor reducer. Adds what React Flow leaves to the
 * app: dropping palette items and .json files, refusing incompatible connections with the
 * reason, quick-add on double-click or when a dragged connection ends on empty canvas.
 */
import {
  Background,
  BackgroundVariant,
  Controls,
  getNodesBounds,
  getViewportForBounds,
  MiniMap,
  ReactFlow,
  useReactFlow,
  useStore,
} from '@xyflow/react';
import type {
  Connection,
  Edge,
  EdgeTypes,
  FinalConnectionState,
  IsValidConnection,
  NodeTypes,
  OnConnectEnd,
  OnEdgesChange,
  OnNodesChange,
  Viewport,
} from '@xyflow/react';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { DragEvent, MouseEvent as ReactMouseEvent } from 'react';
import { canConnect } from '../../../engine/graph/ports';
import type { NodeTypeInfo } from '../api/types';
import type { Catalog } from './catalog';
import { findPort, nodeColor } from './catalog';
import { ConnectionLine } from './ConnectionLine';
import { checkConnection } from './connection';
import { DragOriginContext, useDragOriginStore } from './drag-origin';
import { FAR_ZOOM, FarZoomContext } from './far-zoom';
import type { EditorAction } from './editor-state';
import type { FlowEdge, FlowNode } from './flow-mapping';
import GraphNodeView from './GraphNodeView';
import { NODE_DRAG_TYPE } from './Palette';
import TypedEdge from './TypedEdge';
import { useVirtualize } from './virtualize';
import './Canvas.css';

// Module scope: a new object per render would make React Flow re-mount every node.
const nodeTypes: NodeTypes = { graph: GraphNodeView };
const edgeTypes: EdgeTypes = { typed: TypedEdge };

const MIN_ZOOM = 0.05;
const MAX_ZOOM = 2;
/** How a loaded graph is fitted: a margin around it, and never magnified past 100 %. */
const FIT = { padding: 0.12, maxZoom: 1 };

/**
 * The viewport that fits `nodes` (sized up front, see node-geometry.ts) into a `width` ×
 * `height` canvas: what React Flow's fitView computes, known before the first render.
 */
export function fittedViewport(
  nodes: readonly FlowNode[],
  width: number,
  height: number,
): Viewport {
  return getViewportForBounds(
    getNodesBounds(nodes as FlowNode[]),
    width,
    height,
    MIN_ZOOM,
    FIT.maxZoom,
    FIT.padding,
  );
}

export interface QuickAddRequest {
  screen: { x: number; y: number };
  flow: { x: number; y: number };
  connectFrom?: { nodeId: string; handleId: string; handleType: 'source' | 'target' };
  /** Only these types fit (a dragged connection); all when absent. */
  types?: NodeTypeInfo[];
}

export interface CanvasProps {
  nodes: FlowNode[];
  edges: FlowEdge[];
  types: readonly NodeTypeInfo[];
  catalog: Catalog;
  dispatch(action: EditorAction): void;
  snap: boolean;
  /** Reports the pointer position over the canvas (page pixels; null when it leaves). */
  onPointer(point: { x: number; y: number } | null): void;
  onQuickAdd(request: QuickAddRequest): void;
  onImportFile(file: File): void;
  onRefused(reason: string): void;
  onTemplates(): void;
  /** A node was double-clicked (the studio opens it in the inspector). */
  onOpenNode(nodeId: string): void;
}

export function Canvas(props: CanvasProps) {
  const {
    nodes,
    edges,
    catalog,
    dispatch,
    snap,
    onPointer,
    onQuickAdd,
    onImportFile,
    onRefused,
    types,
  } = props;
  const flow = useReactFlow<FlowNode, FlowEdge>();
  const [fileOver, setFileOver] = useState(false);
  const container = useRef<HTMLDivElement>(null);
  // A loaded graph is fitted once (an empty canvas must not jump when its first node lands),
  // and before React Flow first draws it: the canvas measures itself, then mounts React Flow at
  // the fitted viewport. With React Flow's own fitView the nodes would be drawn at 100 % first
  // and again once fitted, which for a large graph means in full and then as far-out boxes.
  const [initial, setInitial] = useState<{ viewport?: Viewport; fit?: true } | 'measuring'>(() =>
    nodes.length > 0 ? 'measuring' : {},
  );
  useLayoutEffect(() => {
    if (initial !== 'measuring') return;
    const { width, height } = container.current!.getBoundingClientRect();
    setInitial(
      width > 0 && height > 0 ? { viewport: fittedViewport(nodes, width, height) } : { fit: true },
    );
  }, [initial, nodes]);
  const initialZoom = initial === 'measuring' ? 1 : (initial.viewport?.zoom ?? 1);
  // Far out, node details are unreadable anyway: skip painting them (a boolean selector, so
  // this re-renders only when the zoom crosses the threshold). Until React Flow has set up its
  // viewport (an effect after its first render) the store's zoom is a placeholder 1: the
  // fitted zoom is the one the nodes will be seen at.
  const far = useStore((s) => (s.panZoom ? s.transform[2] : initialZoom) < FAR_ZOOM);
  const dragOrigin = useDragOriginStore();
  const virtualize = useVirtualize();
  const latest = useRef({ nodes, edges });
  useEffect(() => {
    latest.current = { nodes, edges };
  }, [nodes, edges]);

  const nodeType = useCallback(
    (id: string) => latest.current.nodes.find((n) => n.id === id)?.data.type,
    [],
  );

  const isValidConnection = useCallback<IsValidConnection<FlowEdge>>(
    (connection: FlowEdge | Connection | Edge) =>
      checkConnection(connection, nodeType, latest.current.edges, catalog).ok,
    [catalog, nodeType],
  );

  // The minimap paints each node in its type's colour, as the node's definition declares it.
  const minimapColor = useCallback(
    (node: FlowNode) => nodeColor(catalog, node.data.type),
    [catalog],
  );

  const onConnect = useCallback(
    (connection: Connection) => dispatch({ type: 'connect', connection }),
    [dispatch],
  );

  const onConnectEnd = useCallback<OnConnectEnd>(
    (event, state: FinalConnectionState) => {
      if (state.isValid || !state.fromHandle || !state.fromNode) return;
      const fromHandle = state.fromHandle;
      const fromNode = state.fromNode;
      if (state.toHandle && state.toNode) {
        const fromOutput = fromHandle.type === 'source';
        const connection = fromOutput
          ? {
              source: fromNode.id,
              sourceHandle: fromHandle.id,
              target: state.toNode.id,
              targetHandle: state.toHandle.id,
            }
          : {
              source: state.toNode.id,
              sourceHandle: state.toHandle.id,
              target: fromNode.id,
              targetHandle: fromHandle.id,
            };
        const verdict = checkConnection(connection, nodeType, latest.current.edges, catalog);
        if (!verdict.ok) onRefused(verdict.reason);
        return;
      }
      if (state.toNode) return;
      const point = 'changedTouches' in event ? event.changedTouches[0] : event;
      const fromType = String(fromNode.data.type);
      const fromOutput = fromHandle.type === 'source';
      const port = findPort(catalog, fromType, fromOutput ? 'output' : 'input', fromHandle.id);
      if (!port) return;
      const fitting = types.filter((info) =>
        fromOutput
          ? info.inputs.some((input) => canConnect(port.type, input.type))
          : info.outputs.some((output) => canConnect(output.type, port.type)),
      );
      onQuickAdd({
        screen: { x: point.clientX, y: point.clientY },
        flow: flow.screenToFlowPosition({ x: point.clientX, y: point.clientY }),
        connectFrom: {
          nodeId: fromNode.id,
          handleId: fromHandle.id ?? '',
          handleType: fromHandle.type,
        },
        types: fitting,
      });
    },
    [catalog, flow, nodeType, onQuickAdd, onRefused, types],
  );

  const onNodesChange = useCallback<OnNodesChange<FlowNode>>(
    (changes) => dispatch({ type: 'nodesChange', changes }),
    [dispatch],
  );
  const onEdgesChange = useCallback<OnEdgesChange<FlowEdge>>(
    (changes) => dispatch({ type: 'edgesChange', changes }),
    [dispatch],
  );

  const hasFiles = (event: DragEvent) => [...event.dataTransfer.types].includes('Files');

  const onDragOver = (event: DragEvent) => {
    if (!hasFiles(event) && ![...event.dataTransfer.types].includes(NODE_DRAG_TYPE)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    if (hasFiles(event) && !fileOver) setFileOver(true);
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setFileOver(false);
    const file = event.dataTransfer.files[0];
    if (file) {
      onImportFile(file);
      return;
    }
    const type = event.dataTransfer.getData(NODE_DRAG_TYPE);
    if (!type) return;
    const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    // Put the node's header under the pointer, not its top-left corner.
    dispatch({ type: 'addNode', nodeType: type, position: { x: at.x - 40, y: at.y - 16 } });
  };

  const onDoubleClick = (event: ReactMouseEvent) => {
    if (!(event.target as HTMLElement).classList.contains('react-flow__pane')) return;
    onQuickAdd({
      screen: { x: event.clientX, y: event.clientY },
      flow: flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }),
    });
  };

  return (
    <div
      className={`canvas${fileOver ? ' is-file-over' : ''}${far ? ' is-far' : ''}`}
      onDragOver={onDragOver}
      onDragLeave={(e) => e.currentTarget === e.target && setFileOver(false)}
      onDrop={onDrop}
      onDoubleClick={onDoubleClick}
      onPointerMove={(e) => onPointer({ x: e.clientX, y: e.clientY })}
      onPointerLeave={() => onPointer(null)}
      data-testid="canvas"
      ref={container}
    >
      <FarZoomContext.Provider value={far}>
        <DragOriginContext.Provider value={dragOrigin}>
          {initial !== 'measuring' && (
            <ReactFlow<FlowNode, FlowEdge>
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onConnectEnd={onConnectEnd}
              onNodeDoubleClick={(_event, clicked) => props.onOpenNode(clicked.id)}
              isValidConnection={isValidConnection}
              connectionLineComponent={ConnectionLine}
              connectionRadius={24}
              deleteKeyCode={null}
              selectionKeyCode="Shift"
              multiSelectionKeyCode={['Meta', 'Control']}
              zoomOnDoubleClick={false}
              snapToGrid={snap}
              snapGrid={[20, 20]}
              minZoom={MIN_ZOOM}
              maxZoom={MAX_ZOOM}
              {...(initial.viewport
                ? { defaultViewport: initial.viewport }
                : // Not measurable (a hidden canvas): React Flow fits once it has a size.
                  { fitView: initial.fit === true, fitViewOptions: FIT })}
              onlyRenderVisibleElements={virtualize}
              colorMode="dark"
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1} color="#2a2f3a" />
              <MiniMap
                style={{ width: 160, height: 104 }}
                pannable
                zoomable
                nodeStrokeWidth={2}
                nodeColor={minimapColor}
                maskColor="rgba(10, 12, 16, 0.7)"
              />
              <Controls showInteractive={false} />
            </ReactFlow>
          )}
        </DragOriginContext.Provider>
      </FarZoomContext.Provider>
      {nodes.length === 0 && (
        <div className="canvas__empty">
          <h2>An empty canvas</h2>
          <p>
            Drag a node from the palette, double-click here to add one by name, paste graph JSON, or
            drop an exported
            <code>.json</code> file.
          </p>
          <button className="button button--primary" onClick={props.onTemplates}>
            Start from a template
          </button>
        </div>
      )}
      {fileOver && (
        <div className="canvas__drop">Drop the .json file to import it as a new workflow</div>
      )}
    </div>
  );
}

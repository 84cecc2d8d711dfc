/**
 * A shared graph drawn with React Flow that cannot be changed: no dragging, connecting,
 * selecting or deleting, no palette, no inspector. Pan and zoom still work, so a large graph
 * can be read. Nodes look like the studio's (same classes and geometry) without the studio's
 * run state, problems or editing context.
 */
import {
  Background,
  BackgroundVariant,
  Controls,
  ReactFlow,
  ReactFlowProvider,
} from '@xyflow/react';
import type { Edge, NodeProps } from '@xyflow/react';
import { createContext, memo, useContext, useMemo } from 'react';
import type { CSSProperties } from 'react';
import type { GraphDocument } from '../../../engine/graph/document';
import { PORT_COLORS } from '../../../engine/graph/ports';
import type { NodeTypeInfo } from '../api/types';
import { createCatalog, type Catalog } from '../canvas/catalog';
import { toFlow, type FlowNode } from '../canvas/flow-mapping';
import { portHandles } from '../canvas/port-handles';
import '../canvas/GraphNodeView.css';
import './share.css';

const CatalogContext = createContext<Catalog>(new Map());

const SharedNodeView = memo(function SharedNodeView({ id, data }: NodeProps<FlowNode>) {
  const catalog = useContext(CatalogContext);
  const info = catalog.get(data.type);
  const handles = info
    ? portHandles(info, { className: () => 'port__handle', connectable: false })
    : [];
  return (
    <div
      className={`graph-node${info ? '' : ' is-unknown'}`}
      style={info ? ({ '--node-color': info.color } as CSSProperties) : undefined}
      data-testid={`shared-node-${id}`}
    >
      <header className="graph-node__header">
        <span className="graph-node__title" title={info?.description}>
          {data.label || info?.title || data.type}
        </span>
      </header>
      <div className="graph-node__sub">
        <span className="graph-node__id">{id}</span>
        {info && <span>{info.category}</span>}
        {!info && <span className="graph-node__unknown">unknown type {data.type}</span>}
      </div>
      <div className="graph-node__ports">
        <div className="ports ports--in">
          {(info?.inputs ?? []).map((port) => (
            <div key={port.id} className="port port--in">
              {port.label}
            </div>
          ))}
        </div>
        <div className="ports ports--out">
          {(info?.outputs ?? []).map((port) => (
            <div key={port.id} className="port port--out">
              {port.label}
            </div>
          ))}
        </div>
      </div>
      {handles}
    </div>
  );
});

// Built once at module scope, as React Flow asks (a new object per render remounts nodes).
const NODE_TYPES = { graph: SharedNodeView };

export function ReadOnlyGraph({ graph, types }: { graph: GraphDocument; types: NodeTypeInfo[] }) {
  const catalog = useMemo(() => createCatalog(types), [types]);
  const { nodes, edges } = useMemo(() => {
    const flow = toFlow(graph, catalog);
    // Plain bezier edges in the source port's colour: the studio's typed edge reads its
    // problems from the studio, which this page does not have.
    const plain: Edge[] = flow.edges.map((edge) => ({
      id: edge.id,
      source: edge.source,
      target: edge.target,
      sourceHandle: edge.sourceHandle ?? null,
      targetHandle: edge.targetHandle ?? null,
      style: {
        stroke: edge.data?.kind ? PORT_COLORS[edge.data.kind] : '#6b7280',
        strokeWidth: edge.data?.list ? 3 : 2,
      },
    }));
    return { nodes: flow.nodes, edges: plain };
  }, [graph, catalog]);
  return (
    <CatalogContext.Provider value={catalog}>
      <ReactFlowProvider>
        <div className="shared-graph" data-testid="shared-graph">
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable={false}
            edgesFocusable={false}
            nodesFocusable={false}
            deleteKeyCode={null}
            fitView
            colorMode="dark"
          >
            <Background variant={BackgroundVariant.Dots} gap={20} size={1} color="#2a2f3a" />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
      </ReactFlowProvider>
    </CatalogContext.Provider>
  );
}

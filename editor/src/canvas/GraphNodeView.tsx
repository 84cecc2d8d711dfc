/**
 * One node on the canvas: a header in the node type's colour (from its definition), typed
 * handles coloured by port kind, the live status of the viewed run (colour, progress bar,
 * "3/8" fan-out count, cached badge, error text), validation problems and the node's outputs.
 * Memoised; reads run state by node id, so a progress event repaints only its own node.
 *
 * Handles sit where node-geometry.ts says (inline `left`/`top` in the node), the same figures
 * React Flow is given before the node mounts. Zoomed out past `FAR_ZOOM` a node is its box,
 * colour bar, handles and progress bar only: the details are unreadable there, and 500 nodes
 * of hidden labels still cost layout, hit testing and paint on every pan frame.
 */
import type { NodeProps } from '@xyflow/react';
import { memo, useCallback, useContext, useMemo } from 'react';
import type { CSSProperties } from 'react';
import type { PortInfo } from '../api/types';
import { isTerminalRunStatus } from '../../../engine/runs/events';
import { frameConsistency, scoreBadges } from '../runs/consistency-view';
import { OutputPreview } from '../runs/OutputPreview';
import { useStore } from '../ui/store';
import { NODE_STATUS_LABEL, fanOutCount, mergeItemOutputs, previewOutputs } from '../runs/run-view';
import { handleAccepts } from './connection';
import { FarZoomContext } from './far-zoom';
import { portHandles } from './port-handles';
import { useDragOrigin } from './drag-origin';
import type { FlowNode } from './flow-mapping';
import { useNodeExposed, useNodeProblems, useNodeRun, useStudio } from './studio-context';
import './GraphNodeView.css';

function GraphNodeView({ id, data, selected, height }: NodeProps<FlowNode>) {
  const { catalog, openImages, regenerateShot, run: runStore } = useStudio();
  const far = useContext(FarZoomContext);
  const runEnded = useStore(runStore, (s) => {
    const runStatus = s.feed?.snapshot?.status;
    return runStatus !== undefined && isTerminalRunStatus(runStatus);
  });
  const info = catalog.get(data.type);
  const { node: run, items } = useNodeRun(id);
  const problems = useNodeProblems(id);
  const exposed = useNodeExposed(id);
  const origin = useDragOrigin();
  const status = run?.status;
  const count = fanOutCount(run);
  const outputs = mergeItemOutputs(run, items);
  const preview = useMemo(() => previewOutputs(outputs), [outputs]);
  const badges = useMemo(() => {
    const list = frameConsistency(outputs);
    return list ? scoreBadges(list) : undefined;
  }, [outputs]);
  // A finished fan-out node's items can be rejected one by one ("regenerate this shot").
  const canRegenerate =
    runEnded && count !== undefined && (status === 'succeeded' || status === 'cached');
  const onRegenerate = useCallback(
    (index: number) => regenerateShot(id, index),
    [regenerateShot, id],
  );
  const portProblems = useMemo(
    () => new Set((problems ?? []).map((p) => p.port).filter(Boolean)),
    [problems],
  );
  const openImage = useCallback(
    (images: Parameters<typeof openImages>[0], index: number) => openImages(images, index),
    [openImages],
  );

  const handleClass = (port: PortInfo & { id: string }, type: 'source' | 'target') => {
    const classes = ['port__handle', port.type.endsWith('[]') ? 'port__handle--list' : ''];
    if (origin && !(origin.nodeId === id && origin.handleId === port.id)) {
      classes.push(
        handleAccepts(origin, id, data.type, port.id, type, catalog)
          ? 'is-compatible'
          : 'is-refused',
      );
    }
    if (type === 'target' && portProblems.has(port.id)) classes.push('has-problem');
    return classes.filter(Boolean).join(' ');
  };

  const handles = info ? portHandles(info, { className: handleClass }) : [];

  const title = data.label || info?.title || data.type;
  const running = status === 'running';
  const progressBar = (running || count) && (
    <div className="graph-node__progress" data-testid="node-progress">
      <div className="progress">
        <div
          className="progress__bar"
          style={{ width: `${Math.round((run?.progress ?? 0) * 100)}%` }}
        />
      </div>
      {!far && (
        <span className="progress__text">
          {count ? `${count}` : `${Math.round((run?.progress ?? 0) * 100)}%`}
          {run?.stage ? ` · ${run.stage}` : ''}
        </span>
      )}
    </div>
  );
  const className = [
    'graph-node',
    status ? `status-${status}` : '',
    selected ? 'is-selected' : '',
    problems ? 'has-problems' : '',
    info ? '' : 'is-unknown',
  ].join(' ');

  // Far out: the box at its measured size, so React Flow sees no resize and edges stay put.
  if (far && info && height !== undefined) {
    return (
      <div
        className={`${className} graph-node--far`}
        style={{ '--node-color': info.color, height } as CSSProperties}
        data-testid={`node-${id}`}
        data-status={status ?? 'idle'}
      >
        <header className="graph-node__header" />
        {handles}
        {progressBar}
      </div>
    );
  }

  return (
    <div
      className={className}
      style={info ? ({ '--node-color': info.color } as CSSProperties) : undefined}
      data-testid={`node-${id}`}
      data-status={status ?? 'idle'}
    >
      <header className="graph-node__header">
        <span className="graph-node__title" title={info?.description}>
          {title}
        </span>
        {exposed && (
          <span
            className="exposed-marker"
            title={`Asked for when used as a template: ${exposed.join(', ')}`}
            aria-label={`${exposed.length} exposed ${exposed.length === 1 ? 'param' : 'params'}`}
            data-testid="node-exposed"
          >
            ◆ {exposed.length}
          </span>
        )}
        {problems && (
          // A badge, not the messages: the node must not grow and shrink while it is wired up.
          <span
            className="problem-badge"
            title={problems.map((p) => p.message).join('\n')}
            data-testid="node-problems"
          >
            ! {problems.length}
          </span>
        )}
        {status && status !== 'pending' && (
          <span className={`status-chip status-chip--${status}`} data-testid="node-status">
            {status === 'cached' ? 'cached' : NODE_STATUS_LABEL[status]}
          </span>
        )}
      </header>
      <div className="graph-node__sub">
        <span className="graph-node__id">{id}</span>
        {info && <span>{info.category}</span>}
        {!info && <span className="graph-node__unknown">unknown type {data.type}</span>}
      </div>
      <div className="graph-node__ports">
        <div className="ports ports--in">
          {(info?.inputs ?? []).map((port) => (
            <div
              key={port.id}
              className={`port port--in${port.optional ? ' port--optional' : ''}`}
              title={`${port.label}: ${port.type}${port.optional ? ' (optional)' : ''}`}
            >
              {port.label}
            </div>
          ))}
        </div>
        <div className="ports ports--out">
          {(info?.outputs ?? []).map((port) => (
            <div key={port.id} className="port port--out" title={`${port.label}: ${port.type}`}>
              {port.label}
            </div>
          ))}
        </div>
      </div>
      {handles}
      {progressBar}
      {run?.error && (
        <p className="graph-node__error" role="alert">
          {run.error}
        </p>
      )}

      {outputs && (
        <OutputPreview
          preview={preview}
          onOpenImage={openImage}
          compact
          {...(badges ? { badges } : {})}
          {...(canRegenerate ? { onRegenerate } : {})}
        />
      )}
    </div>
  );
}

export default memo(GraphNodeView);

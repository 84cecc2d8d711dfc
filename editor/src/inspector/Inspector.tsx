/**
 * The right-hand inspector: the selected node's form (generated from its params schema),
 * its run result and actions; several selected nodes → align and duplicate; nothing
 * selected → the workflow's name, description, exposed values and every problem.
 */
import { Fragment, memo, useCallback, useMemo } from 'react';
import type { ExposedEntry, GraphProblem } from '../api/types';
import { ALIGN_MODES } from '../canvas/align';
import type { FlowNode } from '../canvas/flow-mapping';
import type { RunState } from '../canvas/studio-context';
import { useNodeProblems, useNodeRun, useStudio } from '../canvas/studio-context';
import { api } from '../api/client';
import { useStore } from '../ui/store';
import { useToasts } from '../ui/toasts';
import { OutputPreview } from '../runs/OutputPreview';
import {
  NODE_STATUS_LABEL,
  elapsedMs,
  fanOutCount,
  formatDuration,
  mergeItemOutputs,
  previewOutputs,
} from '../runs/run-view';
import { useNow } from '../ui/useNow';
import { ExposedSettings } from './ExposedSettings';
import { buildFormModel } from './form-model';
import { ParamField } from './ParamField';
import './Inspector.css';

export interface InspectorProps {
  selected: FlowNode[];
  name: string;
  description: string;
  exposed: ExposedEntry[];
  problems: GraphProblem[];
  nodeCount: number;
  onFocusNode(nodeId: string): void;
}

const NONE: GraphProblem[] = [];
const selectRunId = (s: RunState) => s.feed?.runId;

export const Inspector = memo(function Inspector(props: InspectorProps) {
  const { selected } = props;
  if (selected.length === 1) return <NodeInspector node={selected[0]} exposed={props.exposed} />;
  if (selected.length > 1) return <SelectionInspector count={selected.length} />;
  return <WorkflowInspector {...props} />;
});

function NodeInspector({ node, exposed }: { node: FlowNode; exposed: ExposedEntry[] }) {
  const { catalog, dispatch, runFromHere, openImages, run: runStore } = useStudio();
  const info = catalog.get(node.data.type);
  const problems = useNodeProblems(node.id) ?? NONE;
  const { node: run, items } = useNodeRun(node.id);
  const fields = useMemo(() => (info ? buildFormModel(info) : []), [info]);
  const onChange = useCallback(
    (param: string, value: unknown) =>
      dispatch({ type: 'setParam', nodeId: node.id, param, value }),
    [dispatch, node.id],
  );
  const onToggleExposed = useCallback(
    (param: string, label: string) =>
      dispatch({ type: 'toggleExposed', nodeId: node.id, param, label }),
    [dispatch, node.id],
  );
  const outputs = mergeItemOutputs(run, items);
  const preview = useMemo(() => previewOutputs(outputs), [outputs]);
  const now = useNow(run?.status === 'running');
  const toasts = useToasts();
  const runId = useStore(runStore, selectRunId);
  const cancelNode = async (id: string) => {
    try {
      await api.cancelNode(id, node.id);
      toasts.info(`Cancelling ${node.id}`, 'Nodes after it are skipped; other branches go on.');
    } catch (error) {
      toasts.error(error, 'Could not cancel the node');
    }
  };
  if (!info) return <UnknownNode node={node} problems={problems} />;

  const basic = fields.filter((f) => !f.advanced);
  const advanced = fields.filter((f) => f.advanced);
  const nodeProblems = problems.filter((p) => !p.param);
  const renderField = (field: (typeof fields)[number]) => {
    const entry = exposed.find((e) => e.nodeId === node.id && e.param === field.key);
    return (
      <Fragment key={field.key}>
        <ParamField
          field={field}
          value={node.data.params[field.key]}
          onChange={onChange}
          problems={problems.filter((p) => p.param === field.key)}
          exposed={entry !== undefined}
          onToggleExposed={onToggleExposed}
        />
        {entry && (
          <ExposedSettings
            nodeId={node.id}
            field={field}
            entry={entry}
            value={node.data.params[field.key]}
            dispatch={dispatch}
          />
        )}
      </Fragment>
    );
  };

  return (
    <div className="inspector" data-testid="inspector">
      <header className="inspector__header">
        <h2>{info.title}</h2>
        <p className="muted">
          <code>{node.id}</code> · {info.type} v{node.data.typeVersion}
        </p>
        <p className="inspector__description">{info.description}</p>
      </header>
      <div className="field">
        <label className="field__label" htmlFor="node-label">
          Name on canvas
        </label>
        <input
          id="node-label"
          className="input"
          placeholder={info.title}
          value={node.data.label ?? ''}
          maxLength={200}
          onChange={(e) => dispatch({ type: 'setLabel', nodeId: node.id, label: e.target.value })}
        />
      </div>
      {nodeProblems.length > 0 && (
        <ul className="problem-list">
          {nodeProblems.map((p, i) => (
            <li key={i}>
              <code>{p.code}</code> {p.message}
            </li>
          ))}
        </ul>
      )}
      {run && run.status !== 'pending' && (
        <section className="inspector__run">
          <h3>
            Last run:{' '}
            <span className={`status-chip status-chip--${run.status}`}>
              {NODE_STATUS_LABEL[run.status]}
            </span>
            {fanOutCount(run) && <span className="muted"> {fanOutCount(run)}</span>}
            <span className="muted"> · {formatDuration(elapsedMs(run, now))}</span>
          </h3>
          {run.error && <p className="graph-node__error">{run.error}</p>}
          {runId && (run.status === 'running' || run.status === 'queued') && (
            <button
              className="button button--small button--danger"
              onClick={() => void cancelNode(runId)}
            >
              Cancel this node
            </button>
          )}
          {outputs && <OutputPreview preview={preview} onOpenImage={openImages} maxThumbs={24} />}
        </section>
      )}
      <div className="inspector__actions">
        <button
          className="button"
          onClick={() => runFromHere(node.id)}
          title="Re-run this node and everything after it, reusing cached results before it"
        >
          ▶ Run from here
        </button>
        <button className="button" onClick={() => dispatch({ type: 'duplicate' })}>
          Duplicate
        </button>
        <button
          className="button button--danger"
          onClick={() => dispatch({ type: 'deleteSelection' })}
        >
          Delete
        </button>
      </div>
      <section className="inspector__form" aria-label="Parameters">
        {basic.length === 0 && advanced.length === 0 && (
          <p className="muted">This node has no parameters.</p>
        )}
        {basic.map(renderField)}
        {advanced.length > 0 && (
          <details className="advanced">
            <summary>Advanced ({advanced.length})</summary>
            {advanced.map(renderField)}
          </details>
        )}
      </section>
    </div>
  );
}

function UnknownNode({ node, problems }: { node: FlowNode; problems: GraphProblem[] }) {
  const { dispatch } = useStudio();
  return (
    <div className="inspector" data-testid="inspector">
      <h2>Unknown node type</h2>
      <p>
        <code>{node.data.type}</code> is not installed on this server. Its params are kept as they
        are; replace the node with a known type or delete it.
      </p>
      <ul className="problem-list">
        {problems.map((p, i) => (
          <li key={i}>{p.message}</li>
        ))}
      </ul>
      <pre className="json-view">{JSON.stringify(node.data.params, null, 2)}</pre>
      <button
        className="button button--danger"
        onClick={() => dispatch({ type: 'deleteSelection' })}
      >
        Delete node
      </button>
    </div>
  );
}

function SelectionInspector({ count }: { count: number }) {
  const { dispatch } = useStudio();
  return (
    <div className="inspector" data-testid="inspector">
      <h2>{count} nodes selected</h2>
      <div className="align-grid" role="group" aria-label="Align">
        {ALIGN_MODES.map(({ mode, label }) => (
          <button
            key={mode}
            className="button button--small"
            title={label}
            onClick={() => dispatch({ type: 'align', mode })}
          >
            {label
              .replace('Align ', '')
              .replace(' (vertical line)', '')
              .replace(' (horizontal line)', '')}
          </button>
        ))}
      </div>
      <div className="inspector__actions">
        <button className="button" onClick={() => dispatch({ type: 'duplicate' })}>
          Duplicate
        </button>
        <button
          className="button button--danger"
          onClick={() => dispatch({ type: 'deleteSelection' })}
        >
          Delete {count} nodes
        </button>
      </div>
      <p className="muted">
        Copy with Ctrl/Cmd+C: the selection goes to the clipboard as graph JSON you can paste
        anywhere.
      </p>
    </div>
  );
}

function WorkflowInspector(props: InspectorProps) {
  const { dispatch } = useStudio();
  return (
    <div className="inspector" data-testid="inspector">
      <h2>Workflow</h2>
      <div className="field">
        <label className="field__label" htmlFor="wf-name">
          Name
        </label>
        <input
          id="wf-name"
          className="input"
          value={props.name}
          maxLength={200}
          onChange={(e) => dispatch({ type: 'setMeta', name: e.target.value })}
        />
        {props.name.trim() === '' && <p className="field__error">A workflow needs a name.</p>}
      </div>
      <div className="field">
        <label className="field__label" htmlFor="wf-description">
          Description
        </label>
        <textarea
          id="wf-description"
          className="input"
          rows={3}
          value={props.description}
          maxLength={5000}
          onChange={(e) => dispatch({ type: 'setMeta', description: e.target.value })}
        />
      </div>
      <section>
        <h3>Exposed values</h3>
        {props.exposed.length === 0 ? (
          <p className="muted">
            None. Select a node and press <em>expose</em> next to a param to ask for it when this
            workflow is used as a template.
          </p>
        ) : (
          <ul className="exposed-list">
            {props.exposed.map((e) => (
              <li key={`${e.nodeId}.${e.param}`}>
                <button className="link" onClick={() => props.onFocusNode(e.nodeId)}>
                  {e.label}
                </button>{' '}
                <code className="muted">
                  {e.nodeId}.{e.param}
                </code>
                {e.default !== undefined && (
                  <span className="muted"> · default {JSON.stringify(e.default)}</span>
                )}
                {e.help && <p className="field__help">{e.help}</p>}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h3>
          Problems{' '}
          {props.problems.length > 0 && (
            <span className="count-badge">{props.problems.length}</span>
          )}
        </h3>
        {props.problems.length === 0 ? (
          <p className="muted">
            {props.nodeCount === 0
              ? 'Add nodes to get started.'
              : 'None: the graph is ready to run.'}
          </p>
        ) : (
          <ul className="problem-list" data-testid="problem-list">
            {props.problems.map((p, i) => (
              <li key={i}>
                {p.nodeId ? (
                  <button className="link" onClick={() => props.onFocusNode(p.nodeId!)}>
                    {p.nodeId}
                  </button>
                ) : (
                  <code>{p.edgeId ?? 'graph'}</code>
                )}{' '}
                {p.message}
              </li>
            ))}
          </ul>
        )}
      </section>
      <p className="muted">Select a node to edit its parameters.</p>
    </div>
  );
}

/**
 * The studio's side panel: the inspector (the selection or the workflow and its problems),
 * the viewed run, and the workflow's run history, one tab at a time.
 */
import { useMemo } from 'react';
import { Inspector } from '../inspector/Inspector';
import { RunHistory } from '../runs/RunHistory';
import { RunPanel } from '../runs/RunPanel';
import { useStore } from '../ui/store';
import type { EditorState } from './editor-state';
import type { ProblemIndex } from './studio-context';
import { useStudio } from './studio-context';
import type { RunActions } from './useRunActions';
import './SidePanel.css';

export type SideTab = 'inspect' | 'run' | 'history';

export interface SidePanelProps {
  tab: SideTab;
  onTab(tab: SideTab): void;
  state: EditorState;
  workflowId: string | null;
  /** The viewed run (the route's). */
  runId: string | undefined;
  runs: RunActions;
  /** The live run view's socket is connected. */
  connected: boolean;
  onFocusNode(nodeId: string): void;
}

export function SidePanel(props: SidePanelProps) {
  const { tab, onTab, state, runId, runs } = props;
  const { catalog, problems: problemStore } = useStudio();
  const problems = useStore(problemStore, (s: ProblemIndex) => s.list);
  const selected = useMemo(() => state.nodes.filter((n) => n.selected), [state.nodes]);
  const titles = useMemo(
    () =>
      new Map(
        state.nodes.map((n) => [
          n.id,
          n.data.label || catalog.get(n.data.type)?.title || n.data.type,
        ]),
      ),
    [state.nodes, catalog],
  );
  const tabs = [
    ['inspect', 'Inspector'],
    ['run', runs.active ? 'Run ●' : 'Run'],
    ['history', 'History'],
  ] as const;

  return (
    <aside className="side-panel">
      <div className="tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button
            key={id}
            role="tab"
            aria-selected={tab === id}
            className={tab === id ? 'tab is-active' : 'tab'}
            onClick={() => onTab(id)}
          >
            {label}
          </button>
        ))}
      </div>
      <div className="side-panel__body">
        {tab === 'inspect' && (
          <Inspector
            selected={selected}
            name={state.meta.name}
            description={state.meta.description}
            exposed={state.meta.exposed}
            problems={problems}
            nodeCount={state.nodes.length}
            onFocusNode={props.onFocusNode}
          />
        )}
        {tab === 'run' && (
          <RunPanel
            titles={titles}
            connected={props.connected}
            onCancel={() => void runs.cancel()}
            onClose={() => runs.open(undefined)}
            onSelectNode={props.onFocusNode}
          />
        )}
        {tab === 'history' && (
          <RunHistory
            workflowId={props.workflowId}
            activeRunId={runId}
            refreshKey={`${runId ?? ''}:${runs.status ?? ''}`}
            onOpen={(id) => runs.open(id)}
          />
        )}
      </div>
    </aside>
  );
}

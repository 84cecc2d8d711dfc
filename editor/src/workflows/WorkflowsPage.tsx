/** Saved workflows: open, delete (with confirm), start a new one, import, or pick a template. */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { ImportResult } from '../api/client';
import type { WorkflowSummary } from '../api/types';
import { navigate } from '../state/routes';
import { ConfirmDialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { ImportDialog } from './ImportDialog';
import { useImporter } from './useImporter';

export function WorkflowsPage() {
  const toasts = useToasts();
  const [list, setList] = useState<WorkflowSummary[] | null>(null);
  const [doomed, setDoomed] = useState<WorkflowSummary | null>(null);
  const [over, setOver] = useState(false);

  const [reloads, setReloads] = useState(0);
  useEffect(() => {
    let alive = true;
    api.listWorkflows().then(
      (workflows) => alive && setList(workflows),
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not load the workflows');
        setList([]);
      },
    );
    return () => {
      alive = false;
    };
  }, [toasts, reloads]);

  const onImported = useCallback(
    (result: ImportResult) => {
      toasts.success(
        `Imported “${result.workflow.name}”`,
        result.migratedFrom !== undefined
          ? `Migrated from document version ${result.migratedFrom}.`
          : undefined,
      );
      navigate({ page: 'studio', workflowId: result.workflow.id });
    },
    [toasts],
  );
  const importer = useImporter(onImported);

  const remove = async (workflow: WorkflowSummary) => {
    setDoomed(null);
    try {
      await api.deleteWorkflow(workflow.id);
      toasts.success(`Deleted “${workflow.name}”`);
      setReloads((n) => n + 1);
    } catch (error) {
      toasts.error(error, 'Could not delete');
    }
  };

  return (
    <div
      className={`page${over ? ' is-file-over' : ''}`}
      onDragOver={(e) => {
        if (![...e.dataTransfer.types].includes('Files')) return;
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={(e) => e.currentTarget === e.target && setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const file = e.dataTransfer.files[0];
        if (file) void importer.importFile(file);
      }}
    >
      <header className="page__header">
        <h1>Workflows</h1>
        <div className="page__actions">
          <button className="button" onClick={importer.open}>
            Import…
          </button>
          <a className="button" href="#/templates">
            From a template
          </a>
          <a className="button button--primary" href="#/new">
            New workflow
          </a>
        </div>
      </header>
      {list === null && <p className="muted">Loading…</p>}
      {list?.length === 0 && (
        <div className="empty-state">
          <h2>No workflows yet</h2>
          <p>
            Start from the <a href="#/templates">Character short template</a> to see the whole
            pipeline run, open an <a href="#/new">empty canvas</a>, or drop an exported{' '}
            <code>.json</code> file on this page.
          </p>
        </div>
      )}
      {list && list.length > 0 && (
        <ul className="card-grid" data-testid="workflow-list">
          {list.map((workflow) => (
            <li key={workflow.id} className="card">
              <a className="card__body" href={`#/w/${encodeURIComponent(workflow.id)}`}>
                <h3>{workflow.name}</h3>
                {workflow.description && <p className="card__text">{workflow.description}</p>}
                <p className="muted">
                  {workflow.nodeCount !== undefined && `${workflow.nodeCount} nodes · `}
                  {workflow.updatedAt
                    ? `edited ${new Date(workflow.updatedAt).toLocaleString()}`
                    : workflow.id}
                </p>
              </a>
              <div className="card__actions">
                <a className="button button--small" href={api.exportUrl(workflow.id)} download>
                  Export
                </a>
                <button
                  className="button button--small button--danger"
                  onClick={() => setDoomed(workflow)}
                >
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {doomed && (
        <ConfirmDialog
          title="Delete this workflow?"
          message={`“${doomed.name}” will be deleted. Its past runs and their videos stay available in the run history API.`}
          confirmLabel="Delete workflow"
          onConfirm={() => void remove(doomed)}
          onCancel={() => setDoomed(null)}
        />
      )}
      {importer.state.open && (
        <ImportDialog
          state={importer.state}
          onFile={(file) => void importer.importFile(file)}
          onText={(text) => void importer.importText(text, 'the pasted text')}
          onClose={importer.close}
        />
      )}
    </div>
  );
}

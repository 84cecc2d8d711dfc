/**
 * A template's values form: one field per exposed param, built by the inspector's own form
 * code (same widgets, bounds and inline checks), so a bad value is refused here before
 * anything is created or run. "Use template" makes a workflow and opens it in the studio;
 * "Run now" runs the template directly (`POST /api/runs { templateId, values }`) and shows
 * the run live, then its video.
 */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api/client';
import type { TemplateInfo } from '../api/types';
import type { RunState } from '../canvas/studio-context';
import { buildValueField, validateValues } from '../inspector/form-model';
import type { ValueField } from '../inspector/form-model';
import { ParamField } from '../inspector/ParamField';
import { finalVideo, runProgress } from '../runs/run-view';
import { useRunWatch } from '../runs/useRunWatch';
import type { Catalog } from '../canvas/catalog';
import { useCatalog } from '../state/catalog-context';
import { navigate } from '../state/routes';
import { Dialog } from '../ui/Dialog';
import { createStore, useStore } from '../ui/store';
import { useToasts } from '../ui/toasts';

export interface TemplateValuesDialogProps {
  template: TemplateInfo;
  /** A version other than the latest (from the versions list). */
  version?: number;
  onClose(): void;
}

/**
 * The form's fields: each param's schema as the server sends it with the template, else the
 * node type's from the catalog (an older server); its shipped value is the starting point.
 */
export function templateValueFields(template: TemplateInfo, catalog: Catalog): ValueField[] {
  return template.exposed.map((entry) => {
    const node = template.graph?.nodes.find((n) => n.id === entry.nodeId);
    const info = node && catalog.get(node.type);
    const schema = entry.schema ?? info?.params.properties?.[entry.param] ?? {};
    const shipped = entry.value !== undefined ? entry.value : node?.params[entry.param];
    return buildValueField(entry, schema, info?.paramUi?.[entry.param], shipped);
  });
}

export function TemplateValuesDialog({
  template: listed,
  version,
  onClose,
}: TemplateValuesDialogProps) {
  const toasts = useToasts();
  const { catalog } = useCatalog();
  // The list leaves graphs out and lists the latest version: fetch the one being used.
  const [template, setTemplate] = useState<TemplateInfo | null>(
    version === undefined && listed.graph ? listed : null,
  );
  useEffect(() => {
    if (template) return;
    let alive = true;
    api.getTemplate(listed.id, version).then(
      (full) => alive && setTemplate(full),
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not open the template');
        onClose();
      },
    );
    return () => {
      alive = false;
    };
  }, [listed.id, version, template, toasts, onClose]);

  if (!template) {
    return (
      <Dialog title={`“${listed.name}”`} onClose={onClose}>
        <p className="muted">Loading the template…</p>
      </Dialog>
    );
  }
  return <ValuesForm template={template} catalog={catalog} version={version} onClose={onClose} />;
}

function ValuesForm({
  template,
  catalog,
  version,
  onClose,
}: {
  template: TemplateInfo;
  catalog: Catalog;
  version?: number;
  onClose(): void;
}) {
  const toasts = useToasts();
  const fields = useMemo(() => templateValueFields(template, catalog), [template, catalog]);
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(fields.map((f) => [f.key, f.initial])),
  );
  const [busy, setBusy] = useState<'use' | 'run' | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const messages = validateValues(fields, values);
  const invalid = Object.keys(messages).length;
  const pinned = version === undefined ? {} : { version };

  const use = async () => {
    setBusy('use');
    try {
      const workflow = await api.instantiateTemplate(template.id, values, version);
      toasts.success(`Created “${workflow.name}”`, 'It is yours to edit and run.');
      navigate({ page: 'studio', workflowId: workflow.id });
    } catch (error) {
      toasts.error(error, 'Could not create the workflow');
      setBusy(null);
    }
  };
  const run = async () => {
    setBusy('run');
    try {
      const started = await api.startRun({ templateId: template.id, ...pinned, values });
      setRunId(started.runId);
    } catch (error) {
      toasts.error(error, 'Could not start the run');
    } finally {
      setBusy(null);
    }
  };

  const title = `New from “${template.name}” (v${version ?? template.version})`;
  if (runId) return <TemplateRun title={title} runId={runId} onClose={onClose} />;
  return (
    <Dialog
      title={title}
      onClose={onClose}
      footer={
        <>
          {invalid > 0 && (
            <span className="field__error" data-testid="values-invalid">
              Fix {invalid} {invalid === 1 ? 'value' : 'values'} first
            </span>
          )}
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button
            className="button"
            disabled={busy !== null || invalid > 0}
            onClick={() => void use()}
            data-testid="instantiate"
          >
            {busy === 'use' ? 'Creating…' : 'Use template'}
          </button>
          <button
            className="button button--primary"
            disabled={busy !== null || invalid > 0}
            onClick={() => void run()}
            data-testid="run-template"
          >
            {busy === 'run' ? 'Starting…' : '▶ Run now'}
          </button>
        </>
      }
    >
      {template.description && <p className="muted">{template.description}</p>}
      {fields.length === 0 && (
        <p>This template asks for nothing: run it as it is, or make a workflow to edit.</p>
      )}
      <form onSubmit={(e) => e.preventDefault()} aria-label="Template values">
        {fields.map(({ key, field }) => (
          <ParamField
            key={key}
            field={field}
            value={values[key]}
            onChange={(k, v) => setValues((s) => ({ ...s, [k]: v }))}
          />
        ))}
      </form>
    </Dialog>
  );
}

/** The run a template started: live progress, then the video (or the error). */
function TemplateRun({ title, runId, onClose }: { title: string; runId: string; onClose(): void }) {
  const toasts = useToasts();
  const [store] = useState(() => createStore<RunState>({ feed: null }));
  useRunWatch(runId, store, (message) =>
    toasts.push({ kind: 'error', title: 'Live run view', message }),
  );
  const snapshot = useStore(store, (s: RunState) => s.feed?.snapshot ?? null);
  const video = finalVideo(snapshot);
  const status = snapshot?.status ?? 'queued';
  return (
    <Dialog title={title} onClose={onClose} wide>
      <p data-testid="template-run" data-status={status}>
        Run <code>{runId}</code>:{' '}
        <span className={`status-chip status-chip--${status}`}>{status}</span>
        {status === 'running' && (
          <span className="muted"> {Math.round(runProgress(snapshot) * 100)}%</span>
        )}
      </p>
      {snapshot?.error && <p className="field__error">{snapshot.error}</p>}
      {status === 'succeeded' && video && (
        <video
          className="template-run__video"
          data-testid="template-video"
          src={api.artifactUrl(video.id)}
          controls
          autoPlay
          muted
        />
      )}
      {status === 'succeeded' && !video && <p className="muted">The run made no video.</p>}
    </Dialog>
  );
}

/**
 * The template gallery (`GET /api/templates`): each card shows the graph; "Use" asks for the
 * template's exposed values with the same fields the inspector uses, then instantiates it.
 */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api/client';
import type { TemplateInfo } from '../api/types';
import { useCatalog } from '../state/catalog-context';
import { navigate } from '../state/routes';
import { buildField, validateValue } from '../inspector/form-model';
import type { FormField } from '../inspector/form-model';
import { ParamField } from '../inspector/ParamField';
import { Dialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { GraphThumbnail } from './GraphThumbnail';

export function TemplatesPage() {
  const toasts = useToasts();
  const [templates, setTemplates] = useState<TemplateInfo[] | null>(null);
  const [chosen, setChosen] = useState<TemplateInfo | null>(null);
  useEffect(() => {
    let alive = true;
    const load = async () => {
      const list = await api.listTemplates();
      // The list leaves graphs out; the cards draw them, so fetch each (there are few).
      return Promise.all(list.map((t) => (t.graph ? t : api.getTemplate(t.id).catch(() => t))));
    };
    load().then(
      (list) => alive && setTemplates(list),
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not load the templates');
        setTemplates([]);
      },
    );
    return () => {
      alive = false;
    };
  }, [toasts]);

  return (
    <div className="page">
      <header className="page__header">
        <h1>Templates</h1>
        <p className="muted">
          Ready-made pipelines. Fill in their values and you get your own copy to edit and run.
        </p>
      </header>
      {templates === null && <p className="muted">Loading…</p>}
      {templates?.length === 0 && (
        <div className="empty-state">
          <h2>No templates on this server</h2>
          <p>
            Templates are the <code>.json</code> files in the server&apos;s <code>workflows/</code>{' '}
            folder. Start from an <a href="#/new">empty canvas</a> instead.
          </p>
        </div>
      )}
      <ul className="card-grid" data-testid="template-list">
        {templates?.map((template) => (
          <li key={template.id} className="card">
            {template.graph && <GraphThumbnail graph={template.graph} />}
            <div className="card__body">
              <h3>{template.name}</h3>
              <p className="card__text">{template.description}</p>
              <p className="muted">
                {template.graph ? `${template.graph.nodes.length} nodes · ` : ''}
                {template.exposed.length} values to fill in
              </p>
            </div>
            <div className="card__actions">
              <button
                className="button button--primary"
                onClick={() => setChosen(template)}
                data-testid={`use-template-${template.id}`}
              >
                Use template
              </button>
            </div>
          </li>
        ))}
      </ul>
      {chosen && <InstantiateDialog template={chosen} onClose={() => setChosen(null)} />}
    </div>
  );
}

function InstantiateDialog({ template, onClose }: { template: TemplateInfo; onClose(): void }) {
  const toasts = useToasts();
  const { catalog } = useCatalog();
  const [busy, setBusy] = useState(false);
  const fields = useMemo(() => {
    return template.exposed.map((entry) => {
      const node = template.graph?.nodes.find((n) => n.id === entry.nodeId);
      const info = node && catalog.get(node.type);
      const schema = entry.schema ?? info?.params.properties?.[entry.param] ?? {};
      const field: FormField = {
        ...buildField(entry.param, schema, info?.paramUi?.[entry.param], false),
        label: entry.label,
      };
      const initial = entry.default !== undefined ? entry.default : node?.params[entry.param];
      return { key: `${entry.nodeId}.${entry.param}`, field, initial };
    });
  }, [template, catalog]);
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(fields.map((f) => [f.key, f.initial])),
  );
  const invalid = fields.some((f) => validateValue(f.field, values[f.key]) !== null);

  const create = async () => {
    setBusy(true);
    try {
      const workflow = await api.instantiateTemplate(template.id, values);
      toasts.success(`Created “${workflow.name}”`, 'It is yours to edit and run.');
      navigate({ page: 'studio', workflowId: workflow.id });
    } catch (error) {
      toasts.error(error, 'Could not create the workflow');
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={`New from “${template.name}”`}
      onClose={onClose}
      footer={
        <>
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button
            className="button button--primary"
            disabled={busy || invalid}
            onClick={() => void create()}
            data-testid="instantiate"
          >
            {busy ? 'Creating…' : 'Create workflow'}
          </button>
        </>
      }
    >
      {fields.length === 0 && (
        <p>This template asks for nothing: create it and edit it on the canvas.</p>
      )}
      {fields.map(({ key, field }) => (
        <ParamField
          key={key}
          field={{ ...field, key }}
          value={values[key]}
          onChange={(k, v) => setValues((s) => ({ ...s, [k]: v }))}
        />
      ))}
    </Dialog>
  );
}

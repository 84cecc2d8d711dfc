/**
 * The template library (`GET /api/templates`): shipped, mine and shared templates with their
 * previews, search, categories and sources; each opens a values form ("Use template", "Run
 * now"), lists its versions, exports as a file; mine can be deleted; files can be imported.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { TemplateFilter } from '../api/client';
import type { GraphDocument, TemplateInfo, TemplateSource, TemplateVersion } from '../api/types';
import { ConfirmDialog, Dialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { GraphThumbnail } from './GraphThumbnail';
import { TemplateValuesDialog } from './TemplateValuesDialog';
import './TemplatesPage.css';

const SOURCES: { value: TemplateSource | ''; label: string }[] = [
  { value: '', label: 'All' },
  { value: 'shipped', label: 'Shipped' },
  { value: 'mine', label: 'Mine' },
  { value: 'shared', label: 'Shared' },
];

/** Waits this long after the last keystroke before searching (one request per pause). */
const SEARCH_DELAY_MS = 250;

type Chosen = { template: TemplateInfo; version?: number };

export function TemplatesPage() {
  const toasts = useToasts();
  const [templates, setTemplates] = useState<TemplateInfo[] | null>(null);
  const [graphs, setGraphs] = useState<Record<string, GraphDocument>>({});
  const [categories, setCategories] = useState<string[]>([]);
  const [text, setText] = useState('');
  const [filter, setFilter] = useState<TemplateFilter>({});
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const [versionsOf, setVersionsOf] = useState<TemplateInfo | null>(null);
  const [deleting, setDeleting] = useState<TemplateInfo | null>(null);
  const [reloads, setReloads] = useState(0);
  const reload = useCallback(() => setReloads((n) => n + 1), []);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const timer = setTimeout(
      () =>
        setFilter((f) =>
          f.q === (text.trim() || undefined) ? f : { ...f, q: text.trim() || undefined },
        ),
      SEARCH_DELAY_MS,
    );
    return () => clearTimeout(timer);
  }, [text]);

  useEffect(() => {
    let alive = true;
    api.listTemplates(filter).then(
      (list) => {
        if (!alive) return;
        setTemplates(list);
        // Categories seen so far stay offered while a filter hides their templates.
        setCategories((known) => [...new Set([...known, ...list.map((t) => t.category)])].sort());
      },
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not load the templates');
        setTemplates([]);
      },
    );
    return () => {
      alive = false;
    };
  }, [filter, reloads, toasts]);

  // A template without a preview shows its graph; the list leaves graphs out, so fetch those.
  useEffect(() => {
    const missing = (templates ?? []).filter((t) => !t.preview && !t.graph && !graphs[t.id]);
    if (missing.length === 0) return;
    let alive = true;
    void Promise.all(
      missing.map((t) =>
        api.getTemplate(t.id).then(
          (full) => [t.id, full.graph] as const,
          () => null,
        ),
      ),
    ).then((found) => {
      if (!alive) return;
      const next: Record<string, GraphDocument> = {};
      for (const entry of found) if (entry?.[1]) next[entry[0]] = entry[1];
      setGraphs((g) => ({ ...g, ...next }));
    });
    return () => {
      alive = false;
    };
  }, [templates, graphs]);

  const importFile = async (file: File | undefined) => {
    if (!file) return;
    let body: unknown;
    try {
      body = JSON.parse(await file.text());
    } catch (error) {
      toasts.push({
        kind: 'error',
        title: 'Not a template file',
        message: `${file.name} is not JSON (${error instanceof Error ? error.message : String(error)}): choose a file exported from a template`,
      });
      return;
    }
    try {
      const template = await api.importTemplate(body);
      toasts.success(`Imported “${template.name}”`, `Version ${template.version}, under Mine.`);
      reload();
    } catch (error) {
      toasts.error(error, 'Could not import the template');
    }
  };

  const remove = async (template: TemplateInfo) => {
    setDeleting(null);
    try {
      await api.deleteTemplate(template.id);
      toasts.success(`Deleted “${template.name}”`, 'Workflows made from it are kept.');
      reload();
    } catch (error) {
      toasts.error(error, 'Could not delete the template');
    }
  };

  return (
    <div className="page">
      <header className="page__header">
        <h1>Templates</h1>
        <p className="muted">
          Ready-made pipelines as a form. Fill in their values and run them, or get your own copy to
          edit.
        </p>
      </header>
      <div className="template-filters" role="search">
        <input
          className="input"
          type="search"
          placeholder="Search templates"
          aria-label="Search templates"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <select
          className="input"
          aria-label="Category"
          value={filter.category ?? ''}
          onChange={(e) => setFilter((f) => ({ ...f, category: e.target.value || undefined }))}
        >
          <option value="">Every category</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <div className="segmented" role="group" aria-label="Source">
          {SOURCES.map((s) => (
            <button
              key={s.label}
              className={`button button--small${(filter.source ?? '') === s.value ? ' is-on' : ''}`}
              aria-pressed={(filter.source ?? '') === s.value}
              onClick={() => setFilter((f) => ({ ...f, source: s.value || undefined }))}
            >
              {s.label}
            </button>
          ))}
        </div>
        <span className="toolbar__grow" />
        <button className="button" onClick={() => fileInput.current?.click()}>
          Import…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".json,application/json"
          hidden
          data-testid="import-template-file"
          onChange={(e) => {
            void importFile(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
      </div>
      {templates === null && <p className="muted">Loading…</p>}
      {templates?.length === 0 && (
        <div className="empty-state">
          <h2>No templates match</h2>
          <p>
            Save any workflow as a template from the studio (<em>Save as template</em>), import a
            template file, or start from an <a href="#/new">empty canvas</a>.
          </p>
        </div>
      )}
      <ul className="card-grid" data-testid="template-list">
        {templates?.map((template) => (
          <TemplateCard
            key={template.id}
            template={template}
            graph={template.graph ?? graphs[template.id]}
            onUse={() => setChosen({ template })}
            onVersions={() => setVersionsOf(template)}
            onDelete={() => setDeleting(template)}
          />
        ))}
      </ul>
      {chosen && (
        <TemplateValuesDialog
          template={chosen.template}
          {...(chosen.version === undefined ? {} : { version: chosen.version })}
          onClose={() => setChosen(null)}
        />
      )}
      {versionsOf && (
        <VersionsDialog
          template={versionsOf}
          onUse={(version) => {
            setVersionsOf(null);
            setChosen({ template: versionsOf, version });
          }}
          onClose={() => setVersionsOf(null)}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete “${deleting.name}”?`}
          message="Every version goes. Workflows made from it are kept and still run."
          confirmLabel="Delete template"
          onConfirm={() => void remove(deleting)}
          onCancel={() => setDeleting(null)}
        />
      )}
    </div>
  );
}

function TemplateCard(props: {
  template: TemplateInfo;
  graph?: GraphDocument;
  onUse(): void;
  onVersions(): void;
  onDelete(): void;
}) {
  const { template, graph } = props;
  const nodes = template.nodeCount ?? graph?.nodes.length;
  return (
    <li className="card" data-testid={`template-${template.id}`}>
      <TemplatePreview template={template} graph={graph} />
      <div className="card__body">
        <h3>{template.name}</h3>
        <p className="template-card__meta">
          <span className={`source-badge source-badge--${template.source}`}>{template.source}</span>
          <span>{template.category}</span>
          <span data-testid="template-version">v{template.version}</span>
          {template.source === 'shared' && template.owner && <span>by {template.owner}</span>}
        </p>
        <p className="card__text">{template.description}</p>
        <p className="muted">
          {nodes !== undefined ? `${nodes} nodes · ` : ''}
          {template.exposed.length} {template.exposed.length === 1 ? 'value' : 'values'} to fill in
        </p>
      </div>
      <div className="card__actions">
        <button
          className="button button--primary"
          onClick={props.onUse}
          data-testid={`use-template-${template.id}`}
        >
          Use template
        </button>
        <button className="button button--small" onClick={props.onVersions}>
          Versions
        </button>
        <a
          className="button button--small"
          href={api.templateExportUrl(template.id)}
          download
          data-testid={`export-template-${template.id}`}
        >
          Export
        </a>
        {template.source === 'mine' && (
          <button className="button button--small button--danger" onClick={props.onDelete}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

function TemplatePreview({ template, graph }: { template: TemplateInfo; graph?: GraphDocument }) {
  const { preview } = template;
  if (preview?.mime.startsWith('video/')) {
    return (
      <video
        className="template-preview"
        data-testid="template-preview"
        src={api.artifactUrl(preview.artifactId)}
        muted
        loop
        playsInline
        preload="metadata"
        onMouseEnter={(e) => void e.currentTarget.play().catch(() => {})}
        onMouseLeave={(e) => e.currentTarget.pause()}
      />
    );
  }
  if (preview) {
    return (
      <img
        className="template-preview"
        data-testid="template-preview"
        src={api.artifactUrl(preview.artifactId)}
        alt={`Preview of ${template.name}`}
      />
    );
  }
  return graph ? (
    <GraphThumbnail graph={graph} />
  ) : (
    <div className="graph-thumb graph-thumb--empty" />
  );
}

function VersionsDialog(props: {
  template: TemplateInfo;
  onUse(version: number): void;
  onClose(): void;
}) {
  const { template, onUse, onClose } = props;
  const toasts = useToasts();
  const [versions, setVersions] = useState<TemplateVersion[] | null>(null);
  useEffect(() => {
    let alive = true;
    api.templateVersions(template.id).then(
      (list) => alive && setVersions([...list].sort((a, b) => b.version - a.version)),
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not load the versions');
        setVersions([]);
      },
    );
    return () => {
      alive = false;
    };
  }, [template.id, toasts]);
  return (
    <Dialog title={`Versions of “${template.name}”`} onClose={onClose}>
      {versions === null && <p className="muted">Loading…</p>}
      <ul className="version-list" data-testid="template-versions">
        {versions?.map((v) => (
          <li key={v.version}>
            <strong>v{v.version}</strong> {v.name}{' '}
            <span className="muted">{new Date(v.createdAt).toLocaleString()}</span>
            <span className="toolbar__grow" />
            <button className="button button--small" onClick={() => onUse(v.version)}>
              Use v{v.version}
            </button>
            <a
              className="button button--small"
              href={api.templateExportUrl(template.id, v.version)}
              download
            >
              Export
            </a>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

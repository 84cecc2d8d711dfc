/**
 * "Save as template" in the studio: name, description, category and a preview (the last
 * run's video, one of its key frames, or the graph's thumbnail). When the workflow came from
 * one of my templates, saving makes that template's next version; older versions stay
 * readable and workflows made from them keep working.
 */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api/client';
import type { GraphDocument, TemplateInfo } from '../api/types';
import { Dialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { GraphThumbnail } from './GraphThumbnail';
import type { PreviewChoice, RunPreviews } from './save-template';
import { initialChoice, previewBody, runPreviews, templateOrigin } from './save-template';
import './SaveTemplateDialog.css';

export interface SaveTemplateDialogProps {
  graph: GraphDocument;
  /** The saved workflow (its runs offer previews); null while it was never saved. */
  workflowId: string | null;
  /** Saves pending edits first, so the template is what the canvas shows. */
  flush(): Promise<unknown>;
  onSaved(template: TemplateInfo): void;
  onClose(): void;
}

/** Runs looked at for a preview: the newest finished one with a video or a frame wins. */
const RUNS_LOOKED_AT = 10;

export function SaveTemplateDialog(props: SaveTemplateDialogProps) {
  const { graph, workflowId, flush, onSaved, onClose } = props;
  const toasts = useToasts();
  // A primitive: the studio hands a fresh document on every render.
  const originId = useMemo(() => templateOrigin(graph)?.id, [graph]);
  const [mine, setMine] = useState<TemplateInfo[] | null>(null);
  const [previews, setPreviews] = useState<RunPreviews | null | undefined>(undefined);
  const [target, setTarget] = useState<string>('new');
  const [name, setName] = useState(graph.name);
  const [description, setDescription] = useState(graph.description);
  const [category, setCategory] = useState('');
  const [choice, setChoice] = useState<PreviewChoice>({ kind: 'graph' });
  const [busy, setBusy] = useState(false);
  const [categories, setCategories] = useState<string[]>([]);

  useEffect(() => {
    let alive = true;
    void api.listTemplates().then(
      (all) => {
        if (!alive) return;
        const own = all.filter((t) => t.source === 'mine');
        setMine(own);
        setCategories([...new Set(all.map((t) => t.category))].sort());
        const from = originId && own.find((t) => t.id === originId);
        if (from) {
          setTarget(from.id);
          setCategory(from.category);
        }
      },
      () => alive && setMine([]),
    );
    return () => {
      alive = false;
    };
  }, [originId]);

  useEffect(() => {
    let alive = true;
    const load = async () => {
      if (!workflowId) return null;
      const runs = await api.listRuns({ workflowId, limit: RUNS_LOOKED_AT });
      for (const run of runs.filter((r) => r.status === 'succeeded')) {
        const found = runPreviews(await api.getRun(run.id));
        if (found) return found;
      }
      return null;
    };
    load().then(
      (found) => {
        if (!alive) return;
        setPreviews(found);
        setChoice(initialChoice(found));
      },
      () => alive && setPreviews(null),
    );
    return () => {
      alive = false;
    };
  }, [workflowId]);

  const updating = mine?.find((t) => t.id === target);
  const nameProblem = name.trim() === '' ? 'A template needs a name.' : null;

  const save = async () => {
    setBusy(true);
    try {
      await flush();
      const input = {
        name: name.trim(),
        description: description.trim(),
        ...(category.trim() ? { category: category.trim() } : {}),
        preview: previewBody(choice, previews ?? null),
      };
      // The graph as the canvas shows it, so an unsaved draft is saved as what the user sees.
      const saved = updating
        ? await api.updateTemplate(updating.id, { graph }, input)
        : await api.createTemplate({ graph }, input);
      toasts.success(
        updating ? `“${saved.name}” is now version ${saved.version}` : `Saved “${saved.name}”`,
        'Find it under Templates → Mine.',
      );
      onSaved(saved);
    } catch (error) {
      toasts.error(error, 'Could not save the template');
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="Save as template"
      onClose={onClose}
      wide
      footer={
        <>
          <button className="button" onClick={onClose}>
            Cancel
          </button>
          <button
            className="button button--primary"
            disabled={busy || nameProblem !== null || mine === null || previews === undefined}
            onClick={() => void save()}
            data-testid="save-template"
          >
            {busy ? 'Saving…' : updating ? `Save version ${updating.version + 1}` : 'Save template'}
          </button>
        </>
      }
    >
      {graph.exposed.length === 0 ? (
        <p className="field__help" data-testid="no-exposed">
          This workflow exposes no values: the template will run exactly as it is. Select a node and
          press <em>expose</em> next to a param to ask for it.
        </p>
      ) : (
        <p className="muted">Asks for {graph.exposed.map((e) => `“${e.label}”`).join(', ')}.</p>
      )}
      {mine && mine.length > 0 && (
        <div className="field">
          <label className="field__label" htmlFor="tpl-target">
            Save as
          </label>
          <select
            id="tpl-target"
            className="input"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
          >
            <option value="new">A new template</option>
            {mine.map((t) => (
              <option key={t.id} value={t.id}>
                New version of “{t.name}” (now v{t.version})
              </option>
            ))}
          </select>
        </div>
      )}
      <div className="field">
        <label className="field__label" htmlFor="tpl-name">
          Name
        </label>
        <input
          id="tpl-name"
          className="input"
          value={name}
          maxLength={200}
          onChange={(e) => setName(e.target.value)}
        />
        {nameProblem && <p className="field__error">{nameProblem}</p>}
      </div>
      <div className="field">
        <label className="field__label" htmlFor="tpl-description">
          Description
        </label>
        <textarea
          id="tpl-description"
          className="input"
          rows={2}
          value={description}
          maxLength={5000}
          onChange={(e) => setDescription(e.target.value)}
        />
      </div>
      <div className="field">
        <label className="field__label" htmlFor="tpl-category">
          Category
        </label>
        <input
          id="tpl-category"
          className="input"
          list="tpl-categories"
          value={category}
          maxLength={60}
          placeholder="e.g. Shorts"
          onChange={(e) => setCategory(e.target.value)}
        />
        <datalist id="tpl-categories">
          {categories.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
      </div>
      <fieldset className="preview-choice" aria-label="Preview">
        <legend className="field__label">Preview</legend>
        {previews === undefined && <p className="muted">Looking for the last run…</p>}
        {previews?.video && (
          <label className="preview-choice__option">
            <input
              type="radio"
              name="tpl-preview"
              checked={choice.kind === 'video'}
              onChange={() => setChoice({ kind: 'video' })}
            />
            <video src={api.artifactUrl(previews.video.id)} muted preload="metadata" />
            <span>The last run’s video</span>
          </label>
        )}
        {previews?.frames.map((frame, index) => (
          <label key={frame.id} className="preview-choice__option">
            <input
              type="radio"
              name="tpl-preview"
              aria-label={`Key frame ${index + 1}`}
              checked={choice.kind === 'frame' && choice.artifactId === frame.id}
              onChange={() => setChoice({ kind: 'frame', artifactId: frame.id })}
            />
            <img src={api.artifactUrl(frame.id)} alt="" />
            <span>Frame {index + 1}</span>
          </label>
        ))}
        <label className="preview-choice__option">
          <input
            type="radio"
            name="tpl-preview"
            checked={choice.kind === 'graph'}
            onChange={() => setChoice({ kind: 'graph' })}
          />
          <GraphThumbnail graph={graph} />
          <span>The graph</span>
        </label>
        {previews === null && (
          <p className="field__help">
            Run the workflow once to offer its video or a key frame as the preview.
          </p>
        )}
      </fieldset>
    </Dialog>
  );
}

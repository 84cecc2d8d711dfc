/**
 * Characters: the list with thumbnails; create one with reference images dropped in, a
 * trigger word and a LoRA; edit; delete with a confirm; find similar characters.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api } from '../api/client';
import type { ArtifactRef, CharacterRecord, SimilarCharacter } from '../api/types';
import { navigate } from '../state/routes';
import { ConfirmDialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import type { CharacterFormValues } from './character-form';
import {
  characterFormFrom,
  emptyCharacterForm,
  rejectImages,
  toCharacterInput,
  validateCharacterForm,
} from './character-form';
import { refreshCharacters, useCharacters } from './useCharacters';
import { IdentitySummary, ReferenceFaceBadge, SimilarCharacterList } from './IdentityPanel';
import './CharactersPage.css';

export function CharactersPage({ characterId }: { characterId?: string }) {
  const { list, status } = useCharacters();
  const [creating, setCreating] = useState(false);
  const [photoSearch, setPhotoSearch] = useState<{ file: string; hits: SimilarCharacter[] } | null>(
    null,
  );
  const toasts = useToasts();
  const chosen = list.find((c) => c.id === characterId);

  const searchByPhoto = async (file: File | undefined) => {
    if (!file) return;
    try {
      setPhotoSearch({ file: file.name, hits: await api.searchCharactersByImage(file) });
    } catch (error) {
      toasts.error(error, 'Could not search by photo');
    }
  };

  return (
    <div className="page characters">
      <header className="page__header">
        <h1>Characters</h1>
        <div className="page__actions">
          <label className="button" title="Which character does the face in a photo look like?">
            Search by photo
            <input
              type="file"
              accept="image/png,image/jpeg,image/webp"
              hidden
              data-testid="character-photo-search"
              onChange={(e) => {
                void searchByPhoto(e.target.files?.[0]);
                e.target.value = '';
              }}
            />
          </label>
          <button
            className="button button--primary"
            onClick={() => {
              setCreating(true);
              navigate({ page: 'characters' });
            }}
            data-testid="new-character"
          >
            New character
          </button>
        </div>
      </header>
      <div className="characters__layout">
        <ul className="character-list" data-testid="character-list">
          {status === 'loading' && <li className="muted">Loading…</li>}
          {status === 'ready' && list.length === 0 && (
            <li className="empty-state">
              <h2>No characters yet</h2>
              <p>
                A character is a name, a few reference images and optionally a LoRA: it keeps faces
                the same across every shot.
              </p>
            </li>
          )}
          {list.map((character) => (
            <li key={character.id}>
              <a
                className={`character-card${character.id === characterId ? ' is-active' : ''}`}
                href={`#/characters/${encodeURIComponent(character.id)}`}
                onClick={() => setCreating(false)}
              >
                {character.referenceImages[0] ? (
                  <img
                    className="avatar avatar--large"
                    src={api.artifactUrl(character.referenceImages[0].id)}
                    alt=""
                  />
                ) : (
                  <span className="avatar avatar--large avatar--empty" aria-hidden>
                    {character.name.charAt(0)}
                  </span>
                )}
                <span>
                  <strong>{character.name}</strong>
                  <span className="muted">
                    {character.referenceImages.length}{' '}
                    {character.referenceImages.length === 1 ? 'image' : 'images'}
                    {character.lora ? ` · LoRA ${character.lora.name}` : ''}
                  </span>
                </span>
              </a>
            </li>
          ))}
        </ul>
        <section className="characters__detail">
          {photoSearch && (
            <section className="similar" data-testid="photo-search-results">
              <h3>
                Characters like “{photoSearch.file}”{' '}
                <button
                  type="button"
                  className="button button--small"
                  onClick={() => setPhotoSearch(null)}
                >
                  Close
                </button>
              </h3>
              <SimilarCharacterList similar={photoSearch.hits} name="This face" />
            </section>
          )}
          {creating || !characterId ? (
            creating ? (
              <CharacterEditor key="new" onDone={() => setCreating(false)} />
            ) : (
              <p className="empty-hint">Choose a character on the left, or create a new one.</p>
            )
          ) : chosen ? (
            <CharacterEditor
              key={chosen.id + String(chosen.revision ?? chosen.updatedAt ?? '')}
              character={chosen}
              onDone={() => {}}
            />
          ) : status === 'ready' ? (
            <p className="empty-hint">This character does not exist (any more).</p>
          ) : null}
        </section>
      </div>
    </div>
  );
}

interface PendingImage {
  file: File;
  url: string;
  /** Sent as a style reference: kept whatever faces it shows, never compared. */
  style: boolean;
}

type Role = 'identity' | 'style';

function CharacterEditor({ character, onDone }: { character?: CharacterRecord; onDone(): void }) {
  const toasts = useToasts();
  const [values, setValues] = useState<CharacterFormValues>(() =>
    character ? characterFormFrom(character) : emptyCharacterForm(),
  );
  const [kept, setKept] = useState<ArtifactRef[]>(character?.referenceImages ?? []);
  const faces = new Map(character?.identity?.references.map((ref) => [ref.artifactId, ref]));
  const [roles, setRoles] = useState<Record<string, Role>>(() =>
    Object.fromEntries(character?.identity?.references.map((r) => [r.artifactId, r.role]) ?? []),
  );
  const [pending, setPending] = useState<PendingImage[]>([]);
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [over, setOver] = useState(false);
  const [similar, setSimilar] = useState<SimilarCharacter[] | null>(null);
  const errors = useMemo(
    () => validateCharacterForm(values, kept.length + pending.length),
    [values, kept, pending],
  );
  const valid = Object.keys(errors).length === 0;

  const urls = useRef<string[]>([]);
  useEffect(() => () => urls.current.forEach((url) => URL.revokeObjectURL(url)), []);

  const addFiles = (files: File[]) => {
    const problems = rejectImages(files);
    if (problems.length > 0)
      toasts.push({
        kind: 'error',
        title: 'Some files were not added',
        message: problems.join('; '),
      });
    const ok = files.filter((f) => rejectImages([f]).length === 0);
    const added = ok.map((file) => ({ file, url: URL.createObjectURL(file), style: false }));
    urls.current.push(...added.map((a) => a.url));
    setPending((list) => [...list, ...added]);
  };

  const set = (key: keyof CharacterFormValues) => (e: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [key]: e.target.value }));

  const submit = async () => {
    setTouched(true);
    if (!valid) return;
    setBusy(true);
    try {
      const input = toCharacterInput(values);
      let saved: CharacterRecord;
      if (character) {
        const uploaded = await Promise.all(pending.map((p) => api.uploadArtifact(p.file)));
        saved = await api.updateCharacter(character.id, input, [
          ...kept.map((ref) => (roles[ref.id] ? { ...ref, role: roles[ref.id] } : ref)),
          ...uploaded.map((ref, i) =>
            pending[i].style ? { ...ref, role: 'style' as const } : ref,
          ),
        ]);
      } else {
        saved = await api.createCharacter(
          input,
          pending.filter((p) => !p.style).map((p) => p.file),
          pending.filter((p) => p.style).map((p) => p.file),
        );
      }
      const demoted = (saved.identity?.references ?? []).filter(
        (ref) => ref.role === 'style' && ref.status !== 'face',
      ).length;
      if (demoted > 0) {
        toasts.push({
          kind: 'info',
          title: `${demoted} ${demoted === 1 ? 'image is' : 'images are'} kept as style references`,
          message: 'They do not show exactly one face, so they are not used to check the face.',
        });
      }
      setPending([]);
      await refreshCharacters();
      toasts.success(
        character ? `Saved ${saved.name ?? input.name}` : `Created ${saved.name ?? input.name}`,
      );
      onDone();
      if (saved.id) navigate({ page: 'characters', characterId: saved.id });
    } catch (error) {
      toasts.error(
        error,
        character ? 'Could not save the character' : 'Could not create the character',
      );
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!character) return;
    setConfirmDelete(false);
    try {
      await api.deleteCharacter(character.id);
      await refreshCharacters();
      toasts.success(`Deleted ${character.name}`);
      navigate({ page: 'characters' });
    } catch (error) {
      toasts.error(error, 'Could not delete the character');
    }
  };

  const loadSimilar = (id: string, onHits: (hits: SimilarCharacter[]) => void) =>
    api.similarCharacters(id).then(onHits, (error: unknown) => {
      // A character without a face has nothing to compare: its summary already says so.
      if ((error as { code?: string }).code !== 'character_no_face')
        toasts.error(error, 'Could not search for similar characters');
    });
  const findSimilar = () => (character ? loadSimilar(character.id, setSimilar) : undefined);
  // Looked up on opening a character (and so right after creating one): a new character that
  // looks like an existing one is flagged at once.
  const openedId = character?.id;
  const identityVersion = character?.identity?.version;
  const hasFace = !!character?.identity?.mean.length;
  useEffect(() => {
    if (!openedId || !(hasFace || identityVersion === undefined)) return;
    let live = true;
    void loadSimilar(openedId, (hits) => {
      if (live) setSimilar(hits);
      // A character saved before identities was embedded by this search: show its answers.
      if (identityVersion === undefined) void refreshCharacters();
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per opened identity
  }, [openedId, identityVersion, hasFace]);

  const show = (key: keyof typeof errors) =>
    (touched || key === 'loraWeight' || key === 'triggerWord') && errors[key];

  return (
    <form
      className="character-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      aria-label={character ? `Edit ${character.name}` : 'New character'}
    >
      <h2>{character ? character.name : 'New character'}</h2>
      <div className={`field${show('name') ? ' is-invalid' : ''}`}>
        <label className="field__label" htmlFor="ch-name">
          Name
        </label>
        <input
          id="ch-name"
          className="input"
          value={values.name}
          onChange={set('name')}
          maxLength={100}
        />
        {show('name') && <p className="field__error">{errors.name}</p>}
      </div>
      <div className="field">
        <label className="field__label" htmlFor="ch-description">
          Description
        </label>
        <textarea
          id="ch-description"
          className="input"
          rows={3}
          value={values.description}
          onChange={set('description')}
          placeholder="What they look like: hair, clothes, age. Goes into every prompt."
        />
        {show('description') && <p className="field__error">{errors.description}</p>}
      </div>
      <div className="field-row">
        <div className={`field${show('triggerWord') ? ' is-invalid' : ''}`}>
          <label className="field__label" htmlFor="ch-trigger">
            Trigger word
          </label>
          <input
            id="ch-trigger"
            className="input"
            value={values.triggerWord}
            onChange={set('triggerWord')}
            placeholder="e.g. m1ra"
          />
          {show('triggerWord') && <p className="field__error">{errors.triggerWord}</p>}
        </div>
        <div className="field">
          <label className="field__label" htmlFor="ch-lora">
            LoRA name
          </label>
          <input
            id="ch-lora"
            className="input"
            value={values.loraName}
            onChange={set('loraName')}
            placeholder="file name without .safetensors"
          />
        </div>
        <div className={`field${show('loraWeight') ? ' is-invalid' : ''}`}>
          <label className="field__label" htmlFor="ch-weight">
            LoRA weight
          </label>
          <input
            id="ch-weight"
            className="input"
            type="number"
            step={0.05}
            min={-5}
            max={5}
            value={values.loraWeight}
            onChange={set('loraWeight')}
            disabled={values.loraName === ''}
          />
          {show('loraWeight') && <p className="field__error">{errors.loraWeight}</p>}
        </div>
      </div>
      <div className="field">
        <span className="field__label">Reference images</span>
        <label
          className={`drop-zone${over ? ' is-over' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            addFiles([...e.dataTransfer.files]);
          }}
        >
          <input
            type="file"
            accept={'image/png,image/jpeg,image/webp'}
            multiple
            data-testid="character-images"
            onChange={(e) => {
              addFiles([...(e.target.files ?? [])]);
              e.target.value = '';
            }}
          />
          <span>Drop 1–12 clear pictures of the face here, or click to choose them.</span>
        </label>
        {show('images') && <p className="field__error">{errors.images}</p>}
        <ul className="image-strip">
          {kept.map((image) => {
            const face = faces.get(image.id);
            const role = roles[image.id] ?? face?.role;
            return (
              <ReferenceTile
                key={image.id}
                src={api.artifactUrl(image.id)}
                alt=""
                badge={face && <ReferenceFaceBadge face={{ ...face, role: role ?? face.role }} />}
                styleOnly={face?.status === 'face' ? role === 'style' : undefined}
                onStyleOnly={(style) =>
                  setRoles((r) => ({ ...r, [image.id]: style ? 'style' : 'identity' }))
                }
                onRemove={() => setKept((k) => k.filter((i) => i !== image))}
              />
            );
          })}
          {pending.map((image) => (
            <ReferenceTile
              key={image.url}
              className="is-new"
              src={image.url}
              alt={image.file.name}
              styleOnly={image.style}
              styleTitle="Keep it whatever faces it shows; never compared"
              onStyleOnly={(style) =>
                setPending((p) => p.map((i) => (i === image ? { ...i, style } : i)))
              }
              onRemove={() => setPending((p) => p.filter((i) => i !== image))}
            />
          ))}
        </ul>
      </div>
      <div className="form-actions">
        {character && (
          <button
            type="button"
            className="button button--danger"
            onClick={() => setConfirmDelete(true)}
          >
            Delete
          </button>
        )}
        <span className="toolbar__grow" />
        <button
          type="submit"
          className="button button--primary"
          disabled={busy || (touched && !valid)}
          data-testid="save-character"
        >
          {busy ? 'Saving…' : character ? 'Save changes' : 'Create character'}
        </button>
      </div>
      {character && (
        <section className="similar">
          <IdentitySummary identity={character.identity} />
          <h3>
            Similar characters{' '}
            <button
              type="button"
              className="button button--small"
              onClick={() => void findSimilar()}
            >
              Refresh
            </button>
          </h3>
          {similar && <SimilarCharacterList similar={similar} name={character.name} />}
        </section>
      )}
      {confirmDelete && character && (
        <ConfirmDialog
          title={`Delete ${character.name}?`}
          message="The character and its settings are deleted. Workflows that load it will ask you to choose another one."
          confirmLabel="Delete character"
          onConfirm={() => void remove()}
          onCancel={() => setConfirmDelete(false)}
        />
      )}
    </form>
  );
}

/**
 * One reference image in the form: its picture, an optional face badge, the "Style only" toggle
 * (shown when `styleOnly` is defined) and a remove button.
 */
function ReferenceTile(props: {
  src: string;
  alt: string;
  className?: string;
  badge?: ReactNode;
  styleOnly: boolean | undefined;
  styleTitle?: string;
  onStyleOnly(style: boolean): void;
  onRemove(): void;
}) {
  return (
    <li className={props.className}>
      <img src={props.src} alt={props.alt} />
      {props.badge}
      {props.styleOnly !== undefined && (
        <label className="style-toggle" title={props.styleTitle}>
          <input
            type="checkbox"
            checked={props.styleOnly}
            onChange={(e) => props.onStyleOnly(e.target.checked)}
          />{' '}
          Style only
        </label>
      )}
      <button
        type="button"
        className="icon-button"
        aria-label="Remove image"
        onClick={props.onRemove}
      >
        ×
      </button>
    </li>
  );
}

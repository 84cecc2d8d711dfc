/**
 * Characters: the list with thumbnails; create one with reference images dropped in, a
 * trigger word and a LoRA; edit; delete with a confirm; find similar characters.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
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
import './CharactersPage.css';

export function CharactersPage({ characterId }: { characterId?: string }) {
  const { list, status } = useCharacters();
  const [creating, setCreating] = useState(false);
  const chosen = list.find((c) => c.id === characterId);

  return (
    <div className="page characters">
      <header className="page__header">
        <h1>Characters</h1>
        <div className="page__actions">
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
}

function CharacterEditor({ character, onDone }: { character?: CharacterRecord; onDone(): void }) {
  const toasts = useToasts();
  const [values, setValues] = useState<CharacterFormValues>(() =>
    character ? characterFormFrom(character) : emptyCharacterForm(),
  );
  const [kept, setKept] = useState<ArtifactRef[]>(character?.referenceImages ?? []);
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
    const added = ok.map((file) => ({ file, url: URL.createObjectURL(file) }));
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
        saved = await api.updateCharacter(character.id, input, [...kept, ...uploaded]);
      } else {
        saved = await api.createCharacter(
          input,
          pending.map((p) => p.file),
        );
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

  const findSimilar = async () => {
    if (!character) return;
    try {
      setSimilar(await api.similarCharacters(character.id));
    } catch (error) {
      toasts.error(error, 'Could not search for similar characters');
    }
  };

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
          {kept.map((image) => (
            <li key={image.id}>
              <img src={api.artifactUrl(image.id)} alt="" />
              <button
                type="button"
                className="icon-button"
                aria-label="Remove image"
                onClick={() => setKept((k) => k.filter((i) => i !== image))}
              >
                ×
              </button>
            </li>
          ))}
          {pending.map((image) => (
            <li key={image.url} className="is-new">
              <img src={image.url} alt={image.file.name} />
              <button
                type="button"
                className="icon-button"
                aria-label="Remove image"
                onClick={() => setPending((p) => p.filter((i) => i !== image))}
              >
                ×
              </button>
            </li>
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
          <h3>
            Similar characters{' '}
            <button
              type="button"
              className="button button--small"
              onClick={() => void findSimilar()}
            >
              Find similar
            </button>
          </h3>
          {similar?.length === 0 && <p className="muted">No other character looks alike.</p>}
          {similar && similar.length > 0 && (
            <ul className="similar__list">
              {similar.map((hit) => (
                <li key={hit.character.id}>
                  <a href={`#/characters/${encodeURIComponent(hit.character.id)}`}>
                    {hit.character.name ?? hit.character.id}
                  </a>
                  <span className="muted"> · similarity {hit.score.toFixed(2)}</span>
                </li>
              ))}
            </ul>
          )}
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

/**
 * One param in the inspector, rendered from its form model: the widget, bounds as input
 * attributes, the inline message while typing, and problems the server reported for it.
 */
import { memo, useId, useState } from 'react';
import type { ReactNode } from 'react';
import { api } from '../api/client';
import type { ArtifactRef, GraphProblem } from '../api/types';
import { useCharacters } from '../characters/useCharacters';
import { useToasts } from '../ui/toasts';
import type { FormField } from './form-model';
import { parseNumberText, randomSeed, validateValue } from './form-model';
import './ParamField.css';

export interface ParamFieldProps {
  field: FormField;
  value: unknown;
  onChange(key: string, value: unknown): void;
  /** Problems the server's validation names for this param. */
  problems?: GraphProblem[];
  /** Exposed as a template value; undefined hides the toggle. */
  exposed?: boolean;
  onToggleExposed?(key: string, label: string): void;
}

export const ParamField = memo(function ParamField(props: ParamFieldProps) {
  const { field, value, onChange, problems, exposed, onToggleExposed } = props;
  const id = useId();
  const [draft, setDraft] = useState<string | null>(null);
  const message =
    draft !== null && parseNumberText(draft) === undefined
      ? 'enter a number'
      : validateValue(field, value);
  const serverMessages = (problems ?? []).map((p) => p.message);
  const set = (next: unknown) => onChange(field.key, next);

  let control: ReactNode;
  switch (field.widget) {
    case 'textarea':
      control = (
        <textarea
          id={id}
          className="input"
          rows={field.key === 'text' ? 7 : 4}
          value={typeof value === 'string' ? value : ''}
          maxLength={field.maxLength}
          onChange={(e) => set(e.target.value)}
        />
      );
      break;
    case 'number':
    case 'seed':
      control = (
        <div className="field__row">
          <input
            id={id}
            className="input"
            type="number"
            inputMode="decimal"
            value={draft ?? (typeof value === 'number' ? String(value) : '')}
            min={field.min}
            max={field.max}
            step={field.step}
            onChange={(e) => {
              setDraft(e.target.value);
              const parsed = parseNumberText(e.target.value);
              if (parsed !== undefined) set(parsed);
            }}
            onBlur={() => setDraft(null)}
          />
          {field.widget === 'seed' && (
            <button
              type="button"
              className="icon-button"
              title="Roll a new seed"
              aria-label={`Roll a new ${field.label.toLowerCase()}`}
              onClick={() => {
                setDraft(null);
                set(randomSeed(field));
              }}
            >
              <DiceIcon />
            </button>
          )}
        </div>
      );
      break;
    case 'select':
      control = (
        <select
          id={id}
          className="input"
          value={String(value ?? '')}
          onChange={(e) =>
            set(
              field.options?.find((o) => String(o.value) === e.target.value)?.value ??
                e.target.value,
            )
          }
        >
          {field.options?.map((option) => (
            <option key={String(option.value)} value={String(option.value)}>
              {option.label}
            </option>
          ))}
        </select>
      );
      break;
    case 'toggle':
      control = (
        <label className="switch">
          <input
            id={id}
            type="checkbox"
            checked={value === true}
            onChange={(e) => set(e.target.checked)}
          />
          <span className="switch__track" aria-hidden />
          <span>{value === true ? 'On' : 'Off'}</span>
        </label>
      );
      break;
    case 'character':
      control = (
        <CharacterPicker id={id} value={typeof value === 'string' ? value : ''} onChange={set} />
      );
      break;
    case 'image-upload':
      control = <ImageUpload id={id} value={isRef(value) ? value : null} onChange={set} />;
      break;
    case 'json':
      control = <JsonField id={id} value={value} onChange={set} />;
      break;
    default:
      control = (
        <input
          id={id}
          className="input"
          type="text"
          value={typeof value === 'string' ? value : ''}
          maxLength={field.maxLength}
          onChange={(e) => set(e.target.value)}
        />
      );
  }

  const invalid = message !== null || serverMessages.length > 0;
  return (
    <div className={`field${invalid ? ' is-invalid' : ''}`} data-testid={`field-${field.key}`}>
      <div className="field__label">
        <label htmlFor={id}>{field.label}</label>
        {onToggleExposed && (
          <button
            type="button"
            className={`expose-toggle${exposed ? ' is-on' : ''}`}
            title={
              exposed
                ? 'Asked for when the workflow is used as a template (click to stop)'
                : 'Ask for this value when the workflow is used as a template'
            }
            aria-pressed={exposed}
            onClick={() => onToggleExposed(field.key, field.label)}
          >
            {exposed ? 'exposed' : 'expose'}
          </button>
        )}
      </div>
      {control}
      {message && (
        <p className="field__error" role="alert">
          {message}
        </p>
      )}
      {!message &&
        serverMessages.map((text, index) => (
          <p key={index} className="field__error" role="alert">
            {text}
          </p>
        ))}
      {field.help && <p className="field__help">{field.help}</p>}
    </div>
  );
});

/** A die (no emoji: headless and minimal Linux setups often have no emoji font). */
function DiceIcon() {
  return (
    <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden>
      <rect
        x="1.5"
        y="1.5"
        width="13"
        height="13"
        rx="3"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.4"
      />
      <circle cx="5" cy="5" r="1.2" fill="currentColor" />
      <circle cx="8" cy="8" r="1.2" fill="currentColor" />
      <circle cx="11" cy="11" r="1.2" fill="currentColor" />
    </svg>
  );
}

function isRef(value: unknown): value is ArtifactRef {
  return (
    typeof value === 'object' && value !== null && typeof (value as ArtifactRef).id === 'string'
  );
}

function CharacterPicker({
  id,
  value,
  onChange,
}: {
  id: string;
  value: string;
  onChange(value: string): void;
}) {
  const { list, status, error } = useCharacters();
  const chosen = list.find((c) => c.id === value);
  const thumb = chosen?.referenceImages[0];
  return (
    <div className="character-picker">
      <div className="field__row">
        {thumb ? (
          <img className="avatar" src={api.artifactUrl(thumb.id)} alt="" />
        ) : (
          <span className="avatar avatar--empty" aria-hidden>
            ?
          </span>
        )}
        <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">
            {status === 'loading' ? 'Loading characters…' : 'Choose a character…'}
          </option>
          {value !== '' && !chosen && status === 'ready' && (
            <option value={value}>{value} (not found)</option>
          )}
          {list.map((character) => (
            <option key={character.id} value={character.id}>
              {character.name}
            </option>
          ))}
        </select>
      </div>
      {status === 'ready' && list.length === 0 && (
        <p className="field__help">
          No characters yet: <a href="#/characters">create one</a> with a few reference images.
        </p>
      )}
      {status === 'error' && <p className="field__error">{error}</p>}
      {value !== '' && !chosen && status === 'ready' && (
        <p className="field__error">This character does not exist any more: choose another.</p>
      )}
    </div>
  );
}

function ImageUpload({
  id,
  value,
  onChange,
}: {
  id: string;
  value: ArtifactRef | null;
  onChange(value: ArtifactRef | null): void;
}) {
  const toasts = useToasts();
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const upload = async (file: File | undefined) => {
    if (!file) return;
    if (!file.type.startsWith('image/')) {
      toasts.push({
        kind: 'error',
        title: 'Not an image',
        message: `${file.name} is ${file.type || 'of an unknown type'}: choose a PNG, JPEG or WebP file`,
      });
      return;
    }
    setBusy(true);
    try {
      onChange(await api.uploadArtifact(file));
    } catch (error) {
      toasts.error(error, 'Upload failed');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div
      className={`image-upload${over ? ' is-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        e.stopPropagation();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        e.stopPropagation();
        setOver(false);
        void upload(e.dataTransfer.files[0]);
      }}
    >
      {value ? (
        <img src={api.artifactUrl(value.id)} alt="Uploaded" className="image-upload__preview" />
      ) : (
        <span className="image-upload__hint">
          {busy ? 'Uploading…' : 'Drop an image here or choose a file'}
        </span>
      )}
      <div className="field__row">
        <input
          id={id}
          type="file"
          accept="image/*"
          onChange={(e) => void upload(e.target.files?.[0])}
          disabled={busy}
        />
        {value && (
          <button type="button" className="button button--small" onClick={() => onChange(null)}>
            Remove
          </button>
        )}
      </div>
    </div>
  );
}

function JsonField({
  id,
  value,
  onChange,
}: {
  id: string;
  value: unknown;
  onChange(value: unknown): void;
}) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <textarea
        id={id}
        className="input input--mono"
        rows={4}
        value={text ?? JSON.stringify(value ?? null, null, 2)}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          if (text === null) return;
          try {
            onChange(JSON.parse(text));
            setText(null);
            setError(null);
          } catch (err) {
            setError(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
          }
        }}
      />
      {error && <p className="field__error">{error}</p>}
    </>
  );
}

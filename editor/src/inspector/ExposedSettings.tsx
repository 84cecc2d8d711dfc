/**
 * How an exposed param is asked for when the workflow is used as a template: its label, a
 * help line and an optional default. The default is edited with the param's own field, so it
 * gets the same widget and the same checks as the param itself.
 */
import { memo, useId, useState } from 'react';
import type { EditorAction } from '../canvas/editor-state';
import type { ExposedEntry } from '../api/types';
import type { FormField } from './form-model';
import { ParamField } from './ParamField';
import './ExposedSettings.css';

export interface ExposedSettingsProps {
  nodeId: string;
  field: FormField;
  entry: ExposedEntry;
  /** The node's current value: what a new default starts from. */
  value: unknown;
  dispatch(action: EditorAction): void;
}

export const ExposedSettings = memo(function ExposedSettings(props: ExposedSettingsProps) {
  const { nodeId, field, entry, value, dispatch } = props;
  const id = useId();
  const edit = (change: Omit<Extract<EditorAction, { type: 'editExposed' }>, 'type'>) =>
    dispatch({ type: 'editExposed', ...change });
  const hasDefault = entry.default !== undefined;
  // The label being typed: the document keeps its last non-empty label (an empty one is
  // invalid), while the box may be emptied on the way to a new one.
  const [label, setLabel] = useState<string | null>(null);
  return (
    <fieldset className="exposed-settings" data-testid={`exposed-${field.key}`}>
      <legend>Asked for in the template</legend>
      <label className="exposed-settings__row" htmlFor={`${id}-label`}>
        <span>Label</span>
        <input
          id={`${id}-label`}
          className="input"
          value={label ?? entry.label}
          maxLength={200}
          onChange={(e) => {
            setLabel(e.target.value);
            edit({ nodeId, param: field.key, label: e.target.value });
          }}
          onBlur={() => setLabel(null)}
        />
      </label>
      {label !== null && label.trim() === '' && (
        <p className="field__error">A label is required: the form shows it to whoever fills it.</p>
      )}
      <label className="exposed-settings__row" htmlFor={`${id}-help`}>
        <span>Help</span>
        <input
          id={`${id}-help`}
          className="input"
          placeholder="Shown under the field"
          value={entry.help ?? ''}
          maxLength={500}
          onChange={(e) => edit({ nodeId, param: field.key, help: e.target.value })}
        />
      </label>
      <label className="exposed-settings__check">
        <input
          type="checkbox"
          checked={hasDefault}
          onChange={(e) =>
            edit({
              nodeId,
              param: field.key,
              // Starting from the node's value: the author sees what they are changing.
              default: e.target.checked ? (value ?? field.default ?? null) : undefined,
            })
          }
        />
        <span>Suggest a different default (else the value on the canvas)</span>
      </label>
      {hasDefault && (
        <ParamField
          field={{ ...field, label: 'Default' }}
          value={entry.default}
          onChange={(_key, next) => edit({ nodeId, param: field.key, default: next })}
        />
      )}
    </fieldset>
  );
});

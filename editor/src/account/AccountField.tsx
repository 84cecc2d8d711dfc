/**
 * Pieces the account forms share: their submit cycle, a labelled input whose error is announced
 * and tied to it, focus moved to the field a problem names, and a secret shown once with a copy
 * button.
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { problemOf, type AccountField as FieldName, type FormProblem } from './account-forms';

export function AccountField(props: {
  name: FieldName;
  label: string;
  value: string;
  onChange(value: string): void;
  problem: FormProblem | null;
  type?: 'text' | 'password';
  autoComplete?: string;
  help?: string;
}) {
  const id = useId();
  const error = props.problem?.field === props.name ? props.problem.message : null;
  return (
    <div className="field">
      <label className="field__label" htmlFor={id}>
        {props.label}
      </label>
      <input
        id={id}
        name={props.name}
        className="input"
        type={props.type ?? 'text'}
        value={props.value}
        autoComplete={props.autoComplete}
        spellCheck={false}
        autoCapitalize="none"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : props.help ? `${id}-help` : undefined}
        onChange={(event) => props.onChange(event.target.value)}
      />
      {error ? (
        <p className="field__error" id={`${id}-error`}>
          {error}
        </p>
      ) : (
        props.help && (
          <p className="field__help" id={`${id}-help`}>
            {props.help}
          </p>
        )
      )}
    </div>
  );
}

/**
 * The submit cycle of an account form: `check` runs first and its problem is shown instead of
 * sending anything; then the form is busy while `send` runs, and a refusal becomes the form's
 * problem (`refusal` reads it; the server's message by default). After a success most forms
 * leave (the dialog closes, the page changes), so they stay busy against a second submit; a form
 * that stays on screen passes `staysOpen` to be cleared and usable again.
 */
export function useAccountForm(options: {
  check(): FormProblem | null;
  send(): Promise<void>;
  refusal?(error: unknown): FormProblem;
  staysOpen?: boolean;
}) {
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useFocusOnProblem(problem);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const early = options.check();
    if (early) return setProblem(early);
    setBusy(true);
    options.send().then(
      () => {
        if (!options.staysOpen) return;
        setProblem(null);
        setBusy(false);
      },
      (error: unknown) => {
        setProblem((options.refusal ?? problemOf)(error));
        setBusy(false);
      },
    );
  };
  return { problem, busy, form, onSubmit };
}

/**
 * Moves focus to the input a new problem names (by its `name`), or to the form's alert when
 * the problem belongs to no field, so keyboard and screen-reader users land on what to fix.
 */
export function useFocusOnProblem(problem: FormProblem | null) {
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (!problem || !form.current) return;
    const target = problem.field
      ? form.current.querySelector<HTMLElement>(`[name="${problem.field}"]`)
      : form.current.querySelector<HTMLElement>('.form-alert');
    target?.focus();
  }, [problem]);
  return form;
}

/** A problem that belongs to no field, announced at once. */
export function FormAlert({ problem }: { problem: FormProblem | null }) {
  if (!problem || problem.field) return null;
  return (
    <p className="form-alert" role="alert" tabIndex={-1}>
      {problem.message}
    </p>
  );
}

/**
 * A secret the server shows this once (a token, an invite link): selectable, with a copy
 * button and a warning. Copying falls back to the selection where the Clipboard API is
 * missing (plain HTTP on a LAN address is not a secure context).
 */
export function ShownOnce(props: {
  label: string;
  value: string;
  warning: string;
  testId?: string;
}) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
    } catch {
      input.current?.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <div className="shown-once" data-testid={props.testId}>
      <label className="field__label" htmlFor={id}>
        {props.label}
      </label>
      <div className="field__row">
        <input
          id={id}
          ref={input}
          className="input shown-once__value"
          readOnly
          value={props.value}
          onFocus={(event) => event.target.select()}
        />
        <button type="button" className="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="shown-once__warning" role="note">
        {props.warning}
      </p>
    </div>
  );
}

/** A new password and its repeat, as every form that sets one asks for them. */
export function NewPasswordFields(props: {
  password: string;
  repeat: string;
  onPassword(value: string): void;
  onRepeat(value: string): void;
  problem: FormProblem | null;
  /** "New password" when one is being replaced, "Password" for a new account. */
  label: string;
  help: string;
}) {
  return (
    <>
      <AccountField
        name="password"
        label={props.label}
        type="password"
        value={props.password}
        onChange={props.onPassword}
        problem={props.problem}
        autoComplete="new-password"
        help={props.help}
      />
      <AccountField
        name="repeat"
        label={`Repeat the ${props.label.toLowerCase()}`}
        type="password"
        value={props.repeat}
        onChange={props.onRepeat}
        problem={props.problem}
        autoComplete="new-password"
      />
    </>
  );
}

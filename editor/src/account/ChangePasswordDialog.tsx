/** Changing one's own password: the current one again, the new one twice. */
import { useState, type FormEvent } from 'react';
import { accountApi } from '../api/accounts';
import { ApiError } from '../api/http';
import { Dialog } from '../ui/Dialog';
import { newPasswordProblem, problemOf, type FormProblem } from './account-forms';
import { AccountField, NewPasswordFields, FormAlert, useFocusOnProblem } from './AccountField';

export function ChangePasswordDialog(props: { onClose(): void; onChanged(): void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useFocusOnProblem(problem);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const early =
      current === ''
        ? { field: 'current' as const, message: 'Enter your current password.' }
        : newPasswordProblem(next, repeat);
    if (early) return setProblem(early);
    setBusy(true);
    try {
      await accountApi.changePassword(current, next);
      props.onChanged();
    } catch (error) {
      // Here a 401 invalid_credentials means the current password, not the new one.
      setProblem(
        error instanceof ApiError && error.code === 'invalid_credentials'
          ? { field: 'current', message: 'The current password is wrong.' }
          : problemOf(error),
      );
      setBusy(false);
    }
  };

  return (
    <Dialog title="Change password" onClose={props.onClose}>
      <form ref={form} noValidate onSubmit={(event) => void submit(event)}>
        <FormAlert problem={problem} />
        <AccountField
          name="current"
          label="Current password"
          type="password"
          value={current}
          onChange={setCurrent}
          problem={problem}
          autoComplete="current-password"
        />
        <NewPasswordFields
          password={next}
          repeat={repeat}
          onPassword={setNext}
          onRepeat={setRepeat}
          problem={problem}
          label="New password"
          help="At least 10 characters. Every session of yours ends, this one too."
        />
        <div className="dialog__actions">
          <button type="button" className="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </Dialog>
  );
}

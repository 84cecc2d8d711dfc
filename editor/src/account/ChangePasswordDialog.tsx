/** Changing one's own password: the current one again, the new one twice. */
import { useState } from 'react';
import { accountApi } from '../api/accounts';
import { ApiError } from '../api/http';
import { Dialog } from '../ui/Dialog';
import { newPasswordProblem, problemOf } from './account-forms';
import { AccountField, NewPasswordFields, FormAlert, useAccountForm } from './AccountField';

export function ChangePasswordDialog(props: { onClose(): void; onChanged(): void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const { problem, busy, form, onSubmit } = useAccountForm({
    check: () =>
      current === ''
        ? { field: 'current', message: 'Enter your current password.' }
        : newPasswordProblem(next, repeat),
    send: async () => {
      await accountApi.changePassword(current, next);
      props.onChanged();
    },
    // Here a 401 invalid_credentials means the current password, not the new one.
    refusal: (error) =>
      error instanceof ApiError && error.code === 'invalid_credentials'
        ? { field: 'current', message: 'The current password is wrong.' }
        : problemOf(error),
  });

  return (
    <Dialog title="Change password" onClose={props.onClose}>
      <form ref={form} noValidate onSubmit={onSubmit}>
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

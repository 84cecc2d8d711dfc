/**
 * The header's account menu (accounts on): who is signed in and their role, the Tokens page,
 * the Users page for admins, changing the password and signing out. A menu button in the WAI
 * pattern: Enter/Space/ArrowDown open it on the first item, arrows move, Escape closes and
 * gives focus back to the button.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useToasts } from '../ui/toasts';
import { useAuth } from './AuthGate';
import { ChangePasswordDialog } from './ChangePasswordDialog';

export function AccountMenu() {
  const auth = useAuth();
  const toasts = useToasts();
  const [open, setOpen] = useState(false);
  const [changing, setChanging] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const onDown = (event: MouseEvent) => {
      const target = event.target as Node;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const onMenuKey = (event: KeyboardEvent) => {
    const list = items();
    const at = list.indexOf(document.activeElement as HTMLElement);
    const move = (index: number) => {
      event.preventDefault();
      list[(index + list.length) % list.length]?.focus();
    };
    if (event.key === 'ArrowDown') move(at + 1);
    else if (event.key === 'ArrowUp') move(at - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(list.length - 1);
    else if (event.key === 'Escape') {
      event.preventDefault();
      close(true);
    } else if (event.key === 'Tab') setOpen(false);
  };

  if (auth.mode === 'off') return null;
  const { user } = auth;
  return (
    <div className="account-menu">
      <button
        ref={button}
        className="button account-menu__button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls="account-menu"
        data-testid="account-menu"
        onClick={() => setOpen((value) => !value)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown') {
            event.preventDefault();
            setOpen(true);
          }
        }}
      >
        <span className="account-menu__name">{user.username}</span>
        <span className={`role-badge role-badge--${user.role}`}>{user.role}</span>
      </button>
      {open && (
        <div
          ref={menu}
          id="account-menu"
          className="account-menu__list"
          role="menu"
          aria-label={`Account of ${user.username}`}
          onKeyDown={onMenuKey}
        >
          <a role="menuitem" href="#/tokens" tabIndex={-1} onClick={() => close(false)}>
            Tokens
          </a>
          {user.role === 'admin' && (
            <a role="menuitem" href="#/users" tabIndex={-1} onClick={() => close(false)}>
              Users
            </a>
          )}
          <button
            role="menuitem"
            tabIndex={-1}
            onClick={() => {
              close(false);
              setChanging(true);
            }}
          >
            Change password
          </button>
          <button
            role="menuitem"
            tabIndex={-1}
            onClick={() => {
              close(false);
              auth.signOut().catch((error: unknown) => toasts.error(error, 'Could not sign out'));
            }}
          >
            Sign out
          </button>
        </div>
      )}
      {changing && (
        <ChangePasswordDialog
          onClose={() => setChanging(false)}
          onChanged={() => auth.passwordChanged()}
        />
      )}
    </div>
  );
}

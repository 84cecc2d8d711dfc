// @vitest-environment jsdom
/**
 * The header's account menu: what it offers to whom, keyboard use in the menu-button pattern,
 * and signing out through the server.
 */
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ToastProvider } from '../ui/toasts';
import { AccountMenu } from './AccountMenu';
import { AuthGate } from './AuthGate';

vi.mock('../api/run-socket', () => ({ restartSocket: () => {}, closeSocket: () => {} }));

let calls: string[] = [];
let me: unknown;

beforeEach(() => {
  calls = [];
  window.history.replaceState(null, '', '/#/characters');
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push(`${init?.method ?? 'GET'} ${url}`);
    if (url === '/api/auth/me') return new Response(JSON.stringify(me), { status: 200 });
    if (url === '/api/auth/sign-out') return new Response(null, { status: 204 });
    return new Response('{}', { status: 404 });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderMenu() {
  return render(
    <ToastProvider>
      <AuthGate>{() => <AccountMenu />}</AuthGate>
    </ToastProvider>,
  );
}

describe('AccountMenu', () => {
  it('offers Users to admins only', async () => {
    me = { auth: 'on', user: { id: 'usr_bob', username: 'bob', role: 'member' } };
    renderMenu();
    fireEvent.click(await screen.findByRole('button', { name: /bob/ }));
    const items = screen.getAllByRole('menuitem').map((item) => item.textContent);
    expect(items).toEqual(['Tokens', 'Change password', 'Sign out']);
  });

  it('is missing with accounts off', async () => {
    me = { auth: 'off', user: { id: 'local', username: 'local', role: 'admin' } };
    const { container } = render(
      <ToastProvider>
        <AuthGate>
          {() => (
            <header data-testid="header">
              <AccountMenu />
            </header>
          )}
        </AuthGate>
      </ToastProvider>,
    );
    await screen.findByTestId('header');
    expect(container.querySelector('.account-menu')).toBeNull();
    expect(calls).toEqual(['GET /api/auth/me']);
  });

  it('opens on ArrowDown at the first item, moves with arrows, and Escape gives focus back', async () => {
    me = { auth: 'on', user: { id: 'usr_ada', username: 'ada', role: 'admin' } };
    renderMenu();
    const button = await screen.findByRole('button', { name: /ada/ });
    expect(button.getAttribute('aria-expanded')).toBe('false');
    fireEvent.keyDown(button, { key: 'ArrowDown' });
    const items = await screen.findAllByRole('menuitem');
    expect(items.map((item) => item.textContent)).toEqual([
      'Tokens',
      'Users',
      'Change password',
      'Sign out',
    ]);
    expect(document.activeElement).toBe(items[0]);
    fireEvent.keyDown(items[0], { key: 'ArrowUp' });
    expect(document.activeElement).toBe(items[3]);
    fireEvent.keyDown(items[3], { key: 'ArrowDown' });
    expect(document.activeElement).toBe(items[0]);
    fireEvent.keyDown(items[0], { key: 'Escape' });
    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(button);
  });

  it('signs out through the server and shows the sign-in page', async () => {
    me = { auth: 'on', user: { id: 'usr_ada', username: 'ada', role: 'admin' } };
    renderMenu();
    fireEvent.click(await screen.findByRole('button', { name: /ada/ }));
    fireEvent.click(screen.getByRole('menuitem', { name: 'Sign out' }));
    await screen.findByText('You are signed out.');
    expect(calls).toContain('POST /api/auth/sign-out');
    // The next person starts from the list, not from this user's page.
    expect(window.location.hash).toBe('#/workflows');
  });
});

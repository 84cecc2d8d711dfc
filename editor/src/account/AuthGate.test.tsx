// @vitest-environment jsdom
/**
 * The account gate in the browser: nothing but "who am I" before a sign-in, the studio after
 * it, the sign-in page again when any request finds the session gone, and no sign-in at all
 * with accounts off. The HTTP edge is a stubbed fetch answering as the server does.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { request } from '../api/http';
import { AuthGate, useAuth } from './AuthGate';

// The socket is another edge (tested in api/run-socket.test.ts): here only whether it restarts.
const socket = vi.hoisted(() => ({ restarts: 0, closes: 0 }));
vi.mock('../api/run-socket', () => ({
  restartSocket: () => socket.restarts++,
  closeSocket: () => socket.closes++,
}));

type Answer = { status: number; body?: unknown };
let calls: string[] = [];
let routes: Record<string, Answer | (() => Answer)> = {};

beforeEach(() => {
  calls = [];
  socket.restarts = 0;
  socket.closes = 0;
  window.history.replaceState(null, '', '/#/characters');
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const key = `${init?.method ?? 'GET'} ${url}`;
    calls.push(key);
    const found = routes[key];
    const answer = typeof found === 'function' ? found() : found;
    if (!answer) return new Response('{}', { status: 404 });
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
    });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const ada = { id: 'usr_ada', username: 'ada', role: 'admin' };
const unauthenticated: Answer = {
  status: 401,
  body: { error: { code: 'unauthenticated', message: 'sign in first' } },
};

function Studio({ session }: { session: number }) {
  const auth = useAuth();
  return (
    <div>
      <p data-testid="studio">
        {auth.mode} {auth.user.username} session {session}
      </p>
      <button onClick={() => void request('/api/workflows').catch(() => {})}>load</button>
    </div>
  );
}

function renderGate() {
  return render(<AuthGate>{(session) => <Studio key={session} session={session} />}</AuthGate>);
}

describe('AuthGate', () => {
  it('opens at once as the local user when accounts are off', async () => {
    routes = { 'GET /api/auth/me': { status: 200, body: { auth: 'off', user: null } } };
    renderGate();
    expect((await screen.findByTestId('studio')).textContent).toBe('off local session 0');
    expect(screen.queryByRole('heading', { name: 'Sign in' })).toBeNull();
  });

  it('asks for nothing but /api/auth/me before a sign-in, then opens the studio', async () => {
    routes = {
      'GET /api/auth/me': { status: 200, body: { auth: 'on', user: null } },
      'POST /api/auth/sign-in': { status: 200, body: { user: ada } },
    };
    renderGate();
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(calls).toEqual(['GET /api/auth/me']);
    expect(screen.queryByTestId('studio')).toBeNull();

    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ada' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'a-password-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByTestId('studio')).textContent).toBe('on ada session 1');
    expect(socket.restarts).toBe(1);
  });

  it('puts the focus on the password a refused sign-in names', async () => {
    routes = {
      'GET /api/auth/me': { status: 200, body: { auth: 'on', user: null } },
      'POST /api/auth/sign-in': {
        status: 401,
        body: { error: { code: 'invalid_credentials', message: 'no' } },
      },
    };
    renderGate();
    fireEvent.change(await screen.findByLabelText('Username'), { target: { value: 'ada' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong-password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByText('That username and password do not match an active account.');
    expect(document.activeElement).toBe(screen.getByLabelText('Password'));
    expect(screen.getByLabelText('Password').getAttribute('aria-invalid')).toBe('true');
  });

  it('returns to sign-in when the session ends, and to the same page after it', async () => {
    routes = {
      'GET /api/auth/me': { status: 200, body: { auth: 'on', user: ada } },
      'GET /api/workflows': unauthenticated,
      'POST /api/auth/sign-in': { status: 200, body: { user: ada } },
    };
    renderGate();
    expect((await screen.findByTestId('studio')).textContent).toBe('on ada session 1');
    fireEvent.click(screen.getByRole('button', { name: 'load' }));
    await screen.findByText('Your session ended. Sign in again to go on where you were.');
    expect(screen.queryByTestId('studio')).toBeNull();
    expect(socket.closes).toBe(1);
    expect(window.location.hash).toBe('#/characters');

    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ada' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'a-password-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    // A fresh studio (session 2) on the same URL.
    expect((await screen.findByTestId('studio')).textContent).toBe('on ada session 2');
    expect(window.location.hash).toBe('#/characters');
  });

  it('says so when the server cannot be asked, and asks again', async () => {
    let up = false;
    routes = {
      'GET /api/auth/me': () =>
        up
          ? { status: 200, body: { auth: 'off', user: null } }
          : { status: 502, body: { error: { code: 'bad_gateway', message: 'proxy down' } } },
    };
    renderGate();
    await screen.findByRole('heading', { name: 'Cannot reach the server' });
    up = true;
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await waitFor(() =>
      expect(screen.getByTestId('studio').textContent).toBe('off local session 0'),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { authReducer, INITIAL_AUTH, inviteTokenOf, studioOpen, type AuthState } from './auth-state';

const ada = { id: 'usr_ada', username: 'ada', role: 'admin' as const };
const bob = { id: 'usr_bob', username: 'bob', role: 'member' as const };

describe('authReducer', () => {
  it('opens the studio at once as the local user when accounts are off', () => {
    const state = authReducer(INITIAL_AUTH, {
      type: 'me',
      me: { auth: 'off', user: { id: 'local', username: 'local', role: 'admin' } },
    });
    expect(state).toEqual({
      phase: 'off',
      user: { id: 'local', username: 'local', role: 'admin' },
    });
    expect(studioOpen(state)).toBe(true);
  });

  it('asks for a sign-in when accounts are on and nobody is signed in', () => {
    const state = authReducer(INITIAL_AUTH, { type: 'me', me: { auth: 'on', user: null } });
    expect(state).toEqual({ phase: 'signed-out', session: 0 });
    expect(studioOpen(state)).toBe(false);
  });

  it('opens the studio for a session the browser already has', () => {
    const state = authReducer(INITIAL_AUTH, { type: 'me', me: { auth: 'on', user: ada } });
    expect(state).toEqual({ phase: 'signed-in', user: ada, session: 1 });
  });

  it('numbers every sign-in anew, across sign-outs, so each gets a fresh studio', () => {
    let state: AuthState = authReducer(INITIAL_AUTH, {
      type: 'me',
      me: { auth: 'on', user: null },
    });
    state = authReducer(state, { type: 'signed-in', user: ada });
    expect(state).toEqual({ phase: 'signed-in', user: ada, session: 1 });
    state = authReducer(state, { type: 'signed-out', reason: 'signed-out' });
    expect(state).toEqual({ phase: 'signed-out', session: 1, reason: 'signed-out' });
    state = authReducer(state, { type: 'signed-in', user: bob });
    expect(state).toEqual({ phase: 'signed-in', user: bob, session: 2 });
  });

  it('returns to sign-in when the session expires, and only then', () => {
    const signedIn = authReducer(INITIAL_AUTH, { type: 'me', me: { auth: 'on', user: ada } });
    const expired = authReducer(signedIn, { type: 'expired' });
    expect(expired).toEqual({ phase: 'signed-out', session: 1, reason: 'expired' });
    // A late 401 of a request sent before signing out keeps the page's own notice.
    const signedOut = authReducer(signedIn, { type: 'signed-out', reason: 'signed-out' });
    expect(authReducer(signedOut, { type: 'expired' })).toBe(signedOut);
    const off = authReducer(INITIAL_AUTH, { type: 'me', me: { auth: 'off', user: null } });
    expect(authReducer(off, { type: 'expired' })).toBe(off);
  });

  it('says when the server cannot be asked', () => {
    expect(authReducer(INITIAL_AUTH, { type: 'me-failed', message: 'down' })).toEqual({
      phase: 'unreachable',
      message: 'down',
    });
  });
});

describe('inviteTokenOf', () => {
  it('reads the token of an invite link', () => {
    expect(inviteTokenOf('/invite/clab_inv_abc_def')).toBe('clab_inv_abc_def');
    expect(inviteTokenOf('/invite/clab_inv_abc_def/')).toBe('clab_inv_abc_def');
    expect(inviteTokenOf('/invite/a%20b')).toBe('a b');
  });

  it('is null for every other path', () => {
    expect(inviteTokenOf('/')).toBeNull();
    expect(inviteTokenOf('/invite/')).toBeNull();
    expect(inviteTokenOf('/invite/a/b')).toBeNull();
    expect(inviteTokenOf('/invitex/a')).toBeNull();
    expect(inviteTokenOf('/invite/%E0%A4%A')).toBeNull();
  });
});

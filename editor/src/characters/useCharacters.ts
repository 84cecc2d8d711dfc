/**
 * The character list, fetched once and shared by the characters page and every character
 * picker, refreshed after any change so pickers never offer a deleted character.
 */
import { useEffect } from 'react';
import { api } from '../api/client';
import type { CharacterRecord } from '../api/types';
import { createStore, useStore } from '../ui/store';

export interface CharactersState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  list: CharacterRecord[];
  error?: string;
}

const store = createStore<CharactersState>({ status: 'idle', list: [] });
let inFlight: Promise<void> | null = null;

/** Fetches the list again (after create, edit, delete). */
export function refreshCharacters(): Promise<void> {
  inFlight ??= (async () => {
    store.set((s) => ({ ...s, status: s.status === 'ready' ? 'ready' : 'loading' }));
    try {
      store.set({ status: 'ready', list: await api.listCharacters() });
    } catch (error) {
      store.set((s) => ({
        ...s,
        status: 'error',
        error: error instanceof Error ? error.message : String(error),
      }));
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

const selectAll = (s: CharactersState) => s;

export function useCharacters(): CharactersState {
  const state = useStore(store, selectAll);
  useEffect(() => {
    if (store.get().status === 'idle') void refreshCharacters();
  }, []);
  return state;
}

// @vitest-environment jsdom
/**
 * The characters page shows what face detection made of each reference image, the identity's
 * threshold, and warns when the character looks like another one (answers as the API gives them).
 */
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CharacterRecord, SimilarCharacter } from '../api/types';
import { ToastProvider } from '../ui/toasts';
import { CharactersPage } from './CharactersPage';
import { faceLabel } from './IdentityPanel';
import { refreshCharacters } from './useCharacters';

const ids = ['a', 'b', 'c', 'd'].map((c) => c.repeat(64));
const ref = (id: string) => ({
  id,
  mime: 'image/png',
  bytes: 100,
  sha256: id,
  width: 64,
  height: 64,
});

const mira: CharacterRecord = {
  id: 'char_mira',
  name: 'Mira',
  description: '',
  referenceImages: ids.map(ref),
  revision: 3,
  identity: {
    version: 2,
    model: 'face-api-resnet34-128',
    mean: Array.from({ length: 128 }, () => 0.1),
    threshold: 0.472,
    references: [
      { artifactId: ids[0], status: 'face', faces: 1, role: 'identity' },
      { artifactId: ids[1], status: 'no-face', faces: 0, role: 'style' },
      { artifactId: ids[2], status: 'several-faces', faces: 3, role: 'style' },
      { artifactId: ids[3], status: 'face', faces: 1, role: 'style' },
    ],
  },
};

const similar: SimilarCharacter[] = [
  { id: 'char_twin', name: 'Mirror Mira', distance: 0.31, threshold: 0.5, looksAlike: true },
  { id: 'char_ben', name: 'Ben', distance: 0.82, threshold: 0.5, looksAlike: false },
];

function serverFetch(calls: string[], answers: { similar: unknown; status?: number }) {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : String(input);
    calls.push(`${init?.method ?? 'GET'} ${url}`);
    const json = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    if (url === '/api/characters') return json(200, [mira]);
    if (url === `/api/characters/${mira.id}/similar`)
      return json(answers.status ?? 200, answers.similar);
    return json(404, { error: { code: 'not_found', message: url } });
  }) as typeof fetch;
}

describe('characters page: identity and similar characters', () => {
  let calls: string[];

  beforeEach(() => {
    calls = [];
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('shows each reference image’s face answer and the identity summary', async () => {
    vi.stubGlobal('fetch', serverFetch(calls, { similar: { similar: [] } }));
    await refreshCharacters();
    render(
      <ToastProvider>
        <CharactersPage characterId={mira.id} />
      </ToastProvider>,
    );
    const badges = await screen.findAllByTestId('face-badge');
    expect(badges.map((b) => b.textContent)).toEqual([
      'Face',
      'No face · style',
      '3 faces · style',
      'Style only',
    ]);
    expect(screen.getByTestId('identity-summary').textContent).toBe(
      'Identity v2 from 1 of 4 images · pass threshold 0.47',
    );
    // Only images showing one face can switch between identity and style.
    expect(screen.getAllByRole('checkbox', { name: /style only/i })).toHaveLength(2);
    expect(await screen.findByText('No other character has a face to compare with.')).toBeTruthy();
    expect(calls).toContain(`POST /api/characters/${mira.id}/similar`);
  });

  it('lists similar characters by distance and warns about a look-alike', async () => {
    vi.stubGlobal('fetch', serverFetch(calls, { similar: { similar } }));
    await refreshCharacters();
    render(
      <ToastProvider>
        <CharactersPage characterId={mira.id} />
      </ToastProvider>,
    );
    const warning = await screen.findByTestId('lookalike-warning');
    expect(warning.textContent).toMatch(/^Mira looks like Mirror Mira:/);
    const items = within(screen.getByTestId('similar-list')).getAllByRole('listitem');
    expect(items.map((li) => li.textContent)).toEqual([
      'Mirror Mira · distance 0.31 (under its threshold 0.50)',
      'Ben · distance 0.82',
    ]);
  });

  it('says so when no reference shows a face, without an error toast', async () => {
    const faceless: CharacterRecord = {
      ...mira,
      identity: {
        ...mira.identity!,
        mean: [],
        threshold: 0,
        references: [mira.identity!.references[1]],
      },
      referenceImages: [ref(ids[1])],
    };
    vi.stubGlobal('fetch', (async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${String(input)}`);
      return new Response(JSON.stringify([faceless]), {
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch);
    // The character list is shared by the whole studio: load this test's answer into it.
    await refreshCharacters();
    render(
      <ToastProvider>
        <CharactersPage characterId={mira.id} />
      </ToastProvider>,
    );
    expect((await screen.findByTestId('identity-summary')).textContent).toMatch(
      /^No reference image shows exactly one face/,
    );
    // No face, nothing to compare: the page does not ask.
    expect(calls.filter((c) => c.includes('/similar'))).toEqual([]);
  });
});

describe('faceLabel', () => {
  it('names every status', () => {
    expect(
      faceLabel({ artifactId: 'x', status: 'unreadable', faces: 0, role: 'style' }),
    ).toMatchObject({ text: 'Unreadable', tone: 'bad' });
  });
});

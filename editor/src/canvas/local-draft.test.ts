import { describe, expect, it } from 'vitest';
import { characterShort } from '../test/fixtures';
import { clearDraft, readDraft, writeDraft } from './local-draft';

function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (key) => map.get(key) ?? null,
    key: (i) => [...map.keys()][i] ?? null,
    removeItem: (key) => void map.delete(key),
    setItem: (key, value) => void map.set(key, value),
  };
}

describe('local drafts', () => {
  it('offers a draft only when it differs from what is shown', () => {
    const storage = memoryStorage();
    const shown = characterShort();
    writeDraft(storage, 'wf_1', shown, 1000);
    expect(readDraft(storage, 'wf_1', shown)).toBeNull();
    const edited = { ...characterShort(), name: 'Edited' };
    writeDraft(storage, 'wf_1', edited, 2000);
    expect(readDraft(storage, 'wf_1', shown)).toEqual({ savedAt: 2000, doc: edited });
    expect(readDraft(storage, 'wf_2', shown)).toBeNull();
    clearDraft(storage, 'wf_1');
    expect(readDraft(storage, 'wf_1', shown)).toBeNull();
  });

  it('keeps new workflows under "new" and ignores the document id and broken entries', () => {
    const storage = memoryStorage();
    writeDraft(storage, null, { ...characterShort(), id: 'wf_draft' }, 5);
    expect(readDraft(storage, null, characterShort())).toBeNull();
    storage.setItem('charlab.draft.new', '{not json');
    expect(readDraft(storage, null, characterShort())).toBeNull();
  });
});

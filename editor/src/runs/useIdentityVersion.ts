/**
 * The current identity version of the character a run's frames were scored against, so a badge
 * can say "scored against v1, the character is now v2" after its reference images changed.
 * The character comes from the run's own character node output; one request per character.
 */
import { useEffect, useState } from 'react';
import type { RunSnapshot } from '../../../engine/runs/events';
import { api } from '../api/client';

/** The single character id among the run's node outputs (undefined when none or several). */
export function runCharacterId(snapshot: RunSnapshot | null | undefined): string | undefined {
  const ids = new Set<string>();
  for (const node of Object.values(snapshot?.nodes ?? {})) {
    const character = node.outputs?.character as { id?: unknown } | undefined;
    if (character && typeof character.id === 'string') ids.add(character.id);
  }
  return ids.size === 1 ? [...ids][0] : undefined;
}

export function useIdentityVersion(characterId: string | undefined): number | undefined {
  const [version, setVersion] = useState<{ id: string; version?: number }>();
  useEffect(() => {
    if (!characterId) return;
    let live = true;
    api
      .getCharacter(characterId)
      .then((record) => live && setVersion({ id: characterId, version: record.identity?.version }))
      // A deleted character simply has no current version to compare with.
      .catch(() => live && setVersion({ id: characterId }));
    return () => {
      live = false;
    };
  }, [characterId]);
  return version && version.id === characterId ? version.version : undefined;
}

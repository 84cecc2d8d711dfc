import { describe, expect, it } from 'vitest';
import { graphSchema } from '../../nodes/definitions';
import { PUBLIC_OWNER } from '../auth/viewer';
import type { GraphDocument } from '../graph/document';
import { GraphInvalid } from '../graph/problems';
import { graphDoc } from '../testing/server-fixtures';
import { ownerReads, requireReadableResources, unreadableResources } from './resource-check';

const IMAGE = 'a'.repeat(64);
const OTHER_IMAGE = 'b'.repeat(64);

function film(characterId: string, imageId: string | null): GraphDocument {
  const image = imageId && { id: imageId, mime: 'image/png', bytes: 10, sha256: imageId };
  const loaded = graphSchema.load(
    graphDoc(
      'Film',
      [
        { id: 'script', type: 'script-input', params: { text: 'She waves.' } },
        { id: 'hero', type: 'character-loader', params: { characterId } },
        { id: 'plate', type: 'image-input', params: { image } },
        { id: 'story', type: 'gpt-storyboard', params: { provider: 'local' } },
      ],
      [
        ['script', 'text', 'story', 'script'],
        ['hero', 'character', 'story', 'character'],
      ],
    ),
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.graph;
}

/** Records by id with their owner, as the stores would hold them. */
function reads(ownerId: string) {
  const characters = new Map([
    ['char_alice', { ownerId: 'usr_alice' }],
    ['char_shipped', { ownerId: PUBLIC_OWNER }],
  ]);
  const artifacts = new Map([
    [IMAGE, 'usr_alice'],
    [OTHER_IMAGE, 'usr_bob'],
  ]);
  return ownerReads(
    { characters: { get: async (id: string) => characters.get(id) ?? null } } as never,
    {
      readableByOwner: async (id: string, owner: string) =>
        artifacts.get(id) === owner ? ({ id } as never) : null,
    },
    ownerId,
  );
}

describe('resource check: a run uses only what its owner may read', () => {
  it('passes the owner their own and shipped characters and their own images', async () => {
    expect(
      await unreadableResources(graphSchema, film('char_alice', IMAGE), reads('usr_alice')),
    ).toEqual([]);
    expect(
      await unreadableResources(graphSchema, film('char_shipped', null), reads('usr_bob')),
    ).toEqual([]);
  });

  it("names each node that points at another user's or a missing record, the same way", async () => {
    const problems = await unreadableResources(
      graphSchema,
      film('char_alice', IMAGE),
      reads('usr_bob'),
    );
    expect(problems).toEqual([
      {
        code: 'character_not_found',
        nodeId: 'hero',
        param: 'characterId',
        message:
          'node "hero" (Character): character "char_alice" does not exist: pick one of your characters in the inspector',
      },
      expect.objectContaining({ code: 'artifact_not_found', nodeId: 'plate', param: 'image' }),
    ]);
    const missing = await unreadableResources(
      graphSchema,
      film('char_nobody', 'c'.repeat(64)),
      reads('usr_bob'),
    );
    expect(missing.map(({ code, nodeId }) => ({ code, nodeId }))).toEqual(
      problems.map(({ code, nodeId }) => ({ code, nodeId })),
    );
  });

  it('treats an admin owner as a plain user: their runs do not pull in others’ records', async () => {
    // ownerReads has no role: an admin's run reads what their own account holds, nothing more.
    expect(
      await unreadableResources(graphSchema, film('char_alice', null), reads('usr_root')),
    ).toEqual([expect.objectContaining({ code: 'character_not_found', nodeId: 'hero' })]);
  });

  it('throws one invalid_graph carrying every problem', async () => {
    const refusal = requireReadableResources(
      graphSchema,
      film('char_alice', OTHER_IMAGE),
      reads('usr_carol'),
    );
    await expect(refusal).rejects.toBeInstanceOf(GraphInvalid);
    await expect(refusal).rejects.toMatchObject({
      code: 'invalid_graph',
      status: 400,
      details: { errors: [{ nodeId: 'hero' }, { nodeId: 'plate' }] },
    });
  });
});

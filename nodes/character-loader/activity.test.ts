import { afterEach, describe, expect, it } from 'vitest';
import { characterSchema } from '../../engine/graph/values';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { FACE_EMBEDDING_MODEL } from '../../engine/faces/face-embedder';
import { samplePeople } from '../../engine/faces/testing/sample-faces';
import { activity as characterLoaderActivity } from './activity';

let t: TestNodeContext;

afterEach(async () => {
  await t.dispose();
});

describe('character-loader activity', () => {
  it('outputs the stored character as a Character value, without record fields', async () => {
    t = await createTestNodeContext();
    const reference = await t.artifacts.putBytes(Buffer.from('reference bytes'), 'image/png', {
      width: 4,
      height: 4,
    });
    await t.stores.documents.characters.put({
      id: 'chr_mara',
      name: 'Mara',
      description: 'a young explorer in a red coat',
      triggerWord: 'mara_v1',
      lora: { name: 'mara-v1', weight: 0.8 },
      referenceImages: [reference],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
      revision: 3,
    });

    const { character } = await characterLoaderActivity({
      params: { characterId: 'chr_mara' },
      inputs: {},
      ctx: t.ctx,
    });

    expect(character).toEqual({
      id: 'chr_mara',
      name: 'Mara',
      description: 'a young explorer in a red coat',
      triggerWord: 'mara_v1',
      lora: { name: 'mara-v1', weight: 0.8 },
      referenceImages: [reference],
    });
    expect(characterSchema.strict().safeParse(character).success).toBe(true);
    expect(t.progress.at(-1)?.fraction).toBe(1);
  });

  it('fails for good with character_not_found for an unknown or empty id', async () => {
    t = await createTestNodeContext();
    await expect(
      characterLoaderActivity({ params: { characterId: 'chr_gone' }, inputs: {}, ctx: t.ctx }),
    ).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'character_not_found',
      message: expect.stringContaining('"chr_gone" does not exist'),
    });
    await expect(
      characterLoaderActivity({ params: { characterId: ' ' }, inputs: {}, ctx: t.ctx }),
    ).rejects.toMatchObject({
      code: 'character_not_found',
    });
  });

  it('embeds a character saved before identities once, and says so', async () => {
    t = await createTestNodeContext();
    const [{ face }] = await samplePeople(1);
    const reference = await t.artifacts.putBytes(face, 'image/png', {});
    const saved = {
      id: 'chr_old',
      name: 'Old',
      description: '',
      referenceImages: [reference],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
    };
    await t.stores.documents.characters.put(saved);

    const { character } = await characterLoaderActivity({
      params: { characterId: 'chr_old' },
      inputs: {},
      ctx: t.ctx,
    });
    expect(character).toMatchObject({ id: 'chr_old', embeddingModel: FACE_EMBEDDING_MODEL });
    const stored = await t.stores.documents.characters.get('chr_old');
    expect(stored?.identity).toMatchObject({ version: 1, references: [{ status: 'face' }] });
    expect(t.progress.at(-1)).toEqual({
      fraction: 1,
      stage: `loaded · identity v1, threshold ${stored!.identity!.threshold}`,
    });
  }, 120_000);

  it('still loads the character when the face identity cannot be computed', async () => {
    t = await createTestNodeContext();
    await t.stores.documents.characters.put({
      id: 'chr_x',
      name: 'X',
      description: '',
      referenceImages: [],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
    });
    const ctx = {
      ...t.ctx,
      identity: () => Promise.reject(new Error('face_model_unavailable: broken install')),
    };
    const { character } = await characterLoaderActivity({
      params: { characterId: 'chr_x' },
      inputs: {},
      ctx,
    });
    expect(character).toMatchObject({ id: 'chr_x', name: 'X' });
    expect(t.logs.join('\n')).toContain('face_model_unavailable: broken install');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { characterSchema } from '../../engine/graph/values';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
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
});

import { afterEach, describe, expect, it } from 'vitest';
import { storyboardSchema, type Character } from '../../engine/graph/values';
import { providerConfigFromEnv } from '../../engine/config';
import { chooseProvider } from '../../engine/providers/choice';
import { FakeOpenAI } from './testing/fake-openai';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { gptStoryboard } from './definition';
import { activity as gptStoryboardActivity } from './activity';

let t: TestNodeContext | undefined;
let openai: FakeOpenAI | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
  await openai?.close();
  openai = undefined;
});

const character: Character = {
  id: 'c1',
  name: 'Mara',
  description: 'an explorer',
  referenceImages: [],
};
const script = 'Mara reaches the ridge. She looks out over the valley. "We made it," she whispers.';

describe('gpt-storyboard activity', () => {
  it('uses the local rules when no OpenAI key is configured (auto)', async () => {
    t = await createTestNodeContext();
    const params = gptStoryboard.params.parse({ shots: 2, shotDurationSec: 3 });
    const { storyboard } = await gptStoryboardActivity({
      params,
      inputs: { script, character },
      ctx: t.ctx,
    });
    const parsed = storyboardSchema.parse(storyboard);
    expect(parsed.shots).toHaveLength(2);
    expect(parsed.shots[0].prompt).toContain('Mara, an explorer');
    expect(parsed.shots.every((s) => s.durationSec === 3)).toBe(true);
    expect(t.progress.at(-1)).toEqual({ fraction: 1, stage: '2 shots' });
  });

  it('asks the configured OpenAI server when auto resolves to openai', async () => {
    openai = await FakeOpenAI.start();
    t = await createTestNodeContext({
      // The shell resolves `auto` this way before the activity runs.
      provider: chooseProvider(
        gptStoryboard,
        'auto',
        providerConfigFromEnv({
          OPENAI_API_KEY: openai.apiKey,
          OPENAI_BASE_URL: openai.baseURL,
        }).services,
      ),
    });

    const params = gptStoryboard.params.parse({ shots: 4, model: 'gpt-test' });
    const { storyboard } = await gptStoryboardActivity({
      params,
      inputs: { script, character },
      ctx: t.ctx,
    });

    expect(openai.completions).toHaveLength(1);
    expect(openai.completions[0].json).toMatchObject({
      model: 'gpt-test',
      response_format: { type: 'json_schema' },
    });
    expect(JSON.stringify(openai.completions[0].json)).toContain('Mara');
    const parsed = storyboardSchema.parse(storyboard);
    expect(parsed.shots.map((s) => s.camera)).toEqual(['push-in', 'pan-left']);
    expect(parsed.shots[1].dialogue).toBe('Someone has to keep the light.');
    expect(t.progress[0].stage).toBe('asking gpt-test');
  });

  it('fails for good when openai is asked for but not configured (before the activity runs)', () => {
    const params = gptStoryboard.params.parse({ provider: 'openai' });
    expect(() =>
      chooseProvider(gptStoryboard, params.provider, providerConfigFromEnv({}).services),
    ).toThrow(
      expect.objectContaining({
        name: 'NonRetryableNodeError',
        code: 'provider_not_configured',
        message: expect.stringContaining('OPENAI_API_KEY'),
      }),
    );
  });

  it('fails for good on an empty script', async () => {
    t = await createTestNodeContext();
    const params = gptStoryboard.params.parse({});
    await expect(
      gptStoryboardActivity({ params, inputs: { script: '   ' }, ctx: t.ctx }),
    ).rejects.toMatchObject({
      code: 'empty_script',
    });
  });
});

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { storyboardSchema, type Character } from '../../engine/graph/values';
import { providerConfigFromEnv } from '../../engine/providers/config';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { gptStoryboard } from './definition';
import { gptStoryboardActivity } from './activity';

let t: TestNodeContext | undefined;
let server: Server | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
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

  it('asks the configured OpenAI-compatible server when auto resolves to openai', async () => {
    const requests: {
      path?: string;
      auth?: string;
      body: { model: string; response_format: { type: string } };
    }[] = [];
    server = createServer((req, res) => {
      void readJson(req).then((body) => {
        requests.push({
          path: req.url,
          auth: req.headers.authorization,
          body: body as (typeof requests)[number]['body'],
        });
        const content = JSON.stringify({
          title: 'Ridge',
          shots: [
            {
              description: 'Mara on the ridge',
              prompt: 'explorer on a ridge',
              negativePrompt: null,
              camera: 'push-in',
              durationSec: 2,
              dialogue: null,
            },
            {
              description: 'The valley',
              prompt: 'glowing valley',
              negativePrompt: 'people',
              camera: 'pan-right',
              durationSec: 2,
              dialogue: 'We made it.',
            },
          ],
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-fake-1',
            object: 'chat.completion',
            created: 1727000000,
            model: body && typeof body === 'object' && 'model' in body ? body.model : 'gpt',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content, refusal: null },
                logprobs: null,
                finish_reason: 'stop',
              },
            ],
            usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    t = await createTestNodeContext({
      providers: providerConfigFromEnv({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      }),
    });

    const params = gptStoryboard.params.parse({ shots: 4, model: 'gpt-test' });
    const { storyboard } = await gptStoryboardActivity({ params, inputs: { script }, ctx: t.ctx });

    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ path: '/v1/chat/completions', auth: 'Bearer sk-test' });
    expect(requests[0].body.model).toBe('gpt-test');
    expect(requests[0].body.response_format.type).toBe('json_schema');
    const parsed = storyboardSchema.parse(storyboard);
    expect(parsed.shots.map((s) => s.camera)).toEqual(['push-in', 'pan-right']);
    expect(parsed.shots[1].dialogue).toBe('We made it.');
  });

  it('fails for good when openai is asked for but not configured', async () => {
    t = await createTestNodeContext();
    const params = gptStoryboard.params.parse({ provider: 'openai' });
    await expect(
      gptStoryboardActivity({ params, inputs: { script }, ctx: t.ctx }),
    ).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'provider_not_configured',
      message: expect.stringContaining('OPENAI_API_KEY'),
    });
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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

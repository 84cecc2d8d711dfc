/**
 * The fake ComfyUI's queue and validation semantics (see its header): pinned here so the client
 * can only pass against the fake by handling them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makePng } from '../../../engine/testing/fakes/media';
import { FakeComfyUI } from './fake-comfyui';

let fake: FakeComfyUI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const post = (path: string, body: unknown) =>
  fetch(`${fake!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('FakeComfyUI', () => {
  it('rejects a graph the node definitions reject: 400 with node_errors', async () => {
    fake = await FakeComfyUI.start({ png: await makePng(8, 8), ipAdapter: true });
    const response = await post('/prompt', {
      prompt: {
        '1': { class_type: 'LoadImage', inputs: { image: 'never-uploaded.png' } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { type: 'prompt_outputs_failed_validation' },
      node_errors: {
        '1': { class_type: 'LoadImage', errors: [{ type: 'value_not_in_list' }] },
      },
    });
  });

  it('on an old build, /interrupt stops whatever runs, whatever prompt_id it is given', async () => {
    fake = await FakeComfyUI.start({
      png: await makePng(8, 8),
      renderMs: 2_000,
      targetedInterrupt: false,
    });
    const running = fake.otherUsersPrompt();
    await expect.poll(() => fake!.runningId).toBe(running);

    await post('/interrupt', { prompt_id: 'not-that-one' });

    await expect
      .poll(() => fake!.history.get(running)?.status.messages.map(([type]) => type))
      .toContain('execution_interrupted');
  });

  it('on a current build, /interrupt with another prompt_id leaves the running prompt alone', async () => {
    fake = await FakeComfyUI.start({ png: await makePng(8, 8), renderMs: 300 });
    const running = fake.otherUsersPrompt(3);
    await expect.poll(() => fake!.runningId).toBe(running);

    await post('/interrupt', { prompt_id: 'not-that-one' });

    await expect.poll(() => fake!.history.get(running)?.status.status_str).toBe('success');
  });
});

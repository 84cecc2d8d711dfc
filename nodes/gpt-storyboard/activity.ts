/**
 * Turns the script into a storyboard with OpenAI (structured output) or, locally, with the
 * sentence rules of the animatic provider.
 */
import type { z } from 'zod';
import { storyboardSchema, type Storyboard } from '../../engine/graph/values';
import { buildLocalStoryboard } from './providers/local';
import { generateStoryboardOpenAI } from './providers/openai';
import { optionalCharacter } from '../activity-inputs';
import { NonRetryableNodeError, type NodeActivity } from '../../engine/worker/node-api';
import type { gptStoryboard } from './definition';

type Params = z.infer<typeof gptStoryboard.params>;

/** Outputs `{ storyboard }`. An empty script is a non-retryable `empty_script`. */
export const activity: NodeActivity<Params> = async ({ params, inputs, ctx }) => {
  const script = typeof inputs.script === 'string' ? inputs.script : '';
  if (!script.trim()) {
    throw new NonRetryableNodeError(
      'the script is empty: write a few sentences in the script node',
      'empty_script',
    );
  }
  const character = optionalCharacter(inputs.character);
  const storyboardParams = {
    model: params.model,
    shots: params.shots,
    shotDurationSec: params.shotDurationSec,
    style: params.style,
  };

  let storyboard: Storyboard;
  if (ctx.provider.name === 'openai') {
    ctx.progress(0.05, `asking ${params.model}`);
    storyboard = await generateStoryboardOpenAI({
      script,
      ...(character ? { character } : {}),
      params: storyboardParams,
      config: ctx.provider.config,
      signal: ctx.signal,
    });
  } else {
    ctx.progress(0.05, 'splitting the script into shots');
    storyboard = buildLocalStoryboard({
      script,
      ...(character ? { character } : {}),
      params: storyboardParams,
    });
  }
  ctx.progress(1, `${storyboard.shots.length} shots`);
  return { storyboard: storyboardSchema.parse(storyboard) };
};

/**
 * The runway-clip definition's capability check: a model asked for something it cannot make is
 * a validation problem naming the allowed values — in the graph schema (what the studio, the
 * CLI and the run route use) and from POST /api/graphs/validate — so nothing reaches Runway.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { GraphInvalid } from '../../engine/graph/problems';
import { graphRoutes } from '../../engine/server/routes/graphs';
import type { ServerContext } from '../../engine/server/context';
import { graphDoc } from '../../engine/testing/server-fixtures';
import { graphSchema } from '../definitions';
import { runwayClip } from './definition';
import { RUNWAY_VIDEO_MODELS, checkRunwayClip, truncateUtf16 } from './models';

function clipGraph(params: Record<string, unknown>) {
  return graphDoc(
    'Clips',
    [
      { id: 'script', type: 'script-input', params: { text: 'Mara lights the lamp.' } },
      { id: 'story', type: 'gpt-storyboard', params: { provider: 'local', shots: 1 } },
      { id: 'frames', type: 'sd-lora-frame', params: { provider: 'local' } },
      { id: 'clips', type: 'runway-clip', params },
    ],
    [
      ['script', 'text', 'story', 'script'],
      ['story', 'storyboard', 'frames', 'storyboard'],
      ['frames', 'frames', 'clips', 'frames'],
      ['story', 'storyboard', 'clips', 'storyboard'],
    ],
  );
}

const VEO_RATIOS = '1280:720, 720:1280, 1080:1920, 1920:1080';

describe('runway-clip capabilities in validation', () => {
  it('refuses Veo at 960:960, naming the ratios Veo makes', () => {
    const { errors } = graphSchema.check(
      clipGraph({ provider: 'runway', model: 'veo3.1', ratio: '960:960' }),
    );
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'invalid_param',
        nodeId: 'clips',
        param: 'ratio',
        message: expect.stringContaining(VEO_RATIOS),
      }),
    ]);
  });

  it('refuses gen4_turbo for 12 s, naming the durations it makes', () => {
    const { errors } = graphSchema.check(
      clipGraph({ provider: 'auto', model: 'gen4_turbo', duration: 12 }),
    );
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'invalid_param',
        nodeId: 'clips',
        param: 'duration',
        message: expect.stringContaining('whole seconds from 2 to 10'),
      }),
    ]);
  });

  it('refuses models Runway dropped, naming the ones it has', () => {
    for (const model of ['gen3a_turbo', 'veo3']) {
      const { errors } = graphSchema.check(clipGraph({ model }));
      expect(errors).toEqual([
        expect.objectContaining({
          code: 'invalid_param',
          nodeId: 'clips',
          param: 'model',
          message: expect.stringMatching(/gen4_turbo.*gen4\.5.*veo3\.1.*veo3\.1_fast/),
        }),
      ]);
    }
  });

  it('accepts what the model makes, and anything on the local provider', () => {
    expect(graphSchema.check(clipGraph({ model: 'veo3.1', ratio: '1080:1920' })).errors).toEqual(
      [],
    );
    expect(graphSchema.check(clipGraph({ model: 'veo3.1', duration: 8 })).errors).toEqual([]);
    expect(graphSchema.check(clipGraph({ model: 'gen4.5', duration: 10 })).errors).toEqual([]);
    expect(
      graphSchema.check(clipGraph({ provider: 'local', model: 'veo3.1', ratio: '960:960' })).errors,
    ).toEqual([]);
  });

  it('stops a run before it starts: prepare (what POST /api/runs uses) throws every problem', () => {
    const graph = clipGraph({ model: 'veo3.1', ratio: '960:960', duration: 5 });
    let thrown: unknown;
    try {
      graphSchema.prepare(graph);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraphInvalid);
    expect((thrown as GraphInvalid).problems.map((p) => p.param)).toEqual(['ratio', 'duration']);
  });

  it('answers POST /api/graphs/validate with the problem and the allowed values', async () => {
    const app = Fastify();
    graphRoutes(app, { engine: { graph: graphSchema } } as unknown as ServerContext);
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/api/graphs/validate',
        payload: { graph: clipGraph({ model: 'veo3.1_fast', ratio: '1584:672' }) },
      });
      expect(response.statusCode).toBe(200);
      const body = response.json<{ ok: boolean; errors: Record<string, string>[] }>();
      expect(body.ok).toBe(false);
      expect(body.errors).toEqual([
        expect.objectContaining({ code: 'invalid_param', nodeId: 'clips', param: 'ratio' }),
      ]);
      expect(body.errors[0].message).toContain(VEO_RATIOS);
    } finally {
      await app.close();
    }
  });
});

describe('the capability table', () => {
  it('offers exactly the models of the definition, each with its own ratios', () => {
    const shape = runwayClip.params.shape;
    expect(shape.model.unwrap().options).toEqual(Object.keys(RUNWAY_VIDEO_MODELS));
    for (const model of Object.values(RUNWAY_VIDEO_MODELS)) {
      for (const ratio of model.ratios) expect(shape.ratio.unwrap().options).toContain(ratio);
    }
  });

  it('leaves the params of existing graphs as they were, so their cached clips stay valid', () => {
    // Cache keys hash the parsed params: a defaulted duration would re-pay every cached clip.
    expect(runwayClip.params.parse({ model: 'gen4_turbo' })).toEqual({
      provider: 'auto',
      model: 'gen4_turbo',
      ratio: '1280:720',
      fps: 24,
      seed: 7,
    });
  });

  it('checks nothing for the local provider', () => {
    expect(checkRunwayClip({ provider: 'local', model: 'nope', ratio: 'x', duration: 99 })).toEqual(
      [],
    );
  });

  it('truncates by UTF-16 code units and never leaves half a surrogate pair', () => {
    expect(truncateUtf16('ab😀', 3)).toBe('ab');
    expect(truncateUtf16('ab😀', 4)).toBe('ab😀');
    expect(truncateUtf16('abc', 5)).toBe('abc');
  });
});

/**
 * Issue 8, must-show: the frames node's consistency gate end to end. A fake AUTOMATIC1111
 * server (nodes/sd-lora-frame/testing/fake-a1111.ts) answers some shots with another person's
 * face (real faces cropped from face-api's sample photos); those shots are re-rendered with new
 * seeds until they pass or the run's attempt budget is spent, the other shots render once, the
 * MP4 is merged from the kept frames, and a second run of the same graph renders nothing.
 * Then "regenerate shot 1" re-renders that one shot only. Real Temporal dev server, real worker,
 * real face-api, real ffmpeg; kept to three one-second shots for a 2-core machine.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSnapshot } from '../runs/events';
import type { ArtifactRef } from '../graph/values';
import { samplePeople, type SamplePerson } from '../faces/testing/sample-faces';
import { temporalUnavailable } from '../testing/engine-harness';
import { edge, graph, node } from '../testing/graph-builder';
import { RunWatcher, startTestServer, type TestServer } from '../testing/server-harness';
import { FakeA1111 } from '../../nodes/sd-lora-frame/testing/fake-a1111';
import type { FrameConsistency } from '../../nodes/sd-lora-frame/gate';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// Real renders and face detection on a shared 2-core machine: generous limits, never asserted on.
describe.skipIf(temporalUnavailable())(
  'the consistency gate on a fake A1111 server',
  { timeout: 300_000 },
  () => {
    let lab: TestServer;
    let sd: FakeA1111;
    let people: SamplePerson[];
    /** txt2img requests per shot keyword, in arrival order. */
    const served: Record<string, string[]> = { alpha: [], bravo: [], charlie: [] };
    let characterId = '';

    beforeAll(async () => {
      people = await samplePeople(4);
      const [ada, ...others] = people;
      sd = await FakeA1111.start({
        png: ada.face,
        loras: [{ name: 'ada_v1' }],
        // Shot "alpha" is always Ada; "bravo" is someone else on the first render only;
        // "charlie" is a different stranger on every render, so it never passes.
        pngFor: ({ prompt }) => {
          const shot = Object.keys(served).find((word) => prompt.includes(word));
          if (!shot) return undefined;
          const n = served[shot].length;
          const person =
            shot === 'bravo'
              ? n === 0
                ? others[0]
                : ada
              : shot === 'charlie'
                ? others[n % 3]
                : ada;
          served[shot].push(person.person);
          return person.face;
        },
      });
      lab = await startTestServer({ env: { SD_API_URL: sd.url, SD_API_KIND: 'a1111' } });
      // Created as a user would: the identity is computed on create, from the uploaded face.
      const form = new FormData();
      form.append('name', 'Ada');
      form.append('description', 'the woman from the first sample photo');
      form.append('images', new Blob([new Uint8Array(ada.face)], { type: 'image/png' }), 'ada.png');
      const created = await fetch(`${lab.url}/api/characters`, { method: 'POST', body: form });
      expect(created.status, await created.clone().text()).toBe(201);
      characterId = ((await created.json()) as { id: string }).id;
    }, 180_000);

    afterAll(async () => {
      await lab?.close();
      await sd?.close();
    });

    const document = () =>
      graph(
        [
          node('script', 'script-input', {
            text: 'Ada walks through the alpha gate. Ada waves at the bravo tower. Ada sings at the charlie bridge.',
          }),
          node('character', 'character-loader', { characterId }),
          node('story', 'gpt-storyboard', { provider: 'local', shots: 3, shotDurationSec: 1 }),
          node('frames', 'sd-lora-frame', {
            provider: 'a1111',
            width: 256,
            height: 256,
            steps: 4,
            maxAttempts: 4,
            attemptBudget: 3,
          }),
          node('clips', 'runway-clip', { provider: 'local' }),
          node('merge', 'ffmpeg-merge', { width: 128, height: 128 }),
        ],
        [
          edge('script.text', 'story.script'),
          edge('character.character', 'story.character'),
          edge('story.storyboard', 'frames.storyboard'),
          edge('character.character', 'frames.character'),
          edge('frames.frames', 'clips.frames'),
          edge('story.storyboard', 'clips.storyboard'),
          edge('clips.clips', 'merge.clips'),
        ],
        'gate',
      );

    async function run(
      path: string,
      body: unknown,
    ): Promise<{ runId: string; watcher: RunWatcher }> {
      const response = await lab.request<{ runId: string }>('POST', path, body);
      expect(response.status, JSON.stringify(response.body)).toBe(202);
      const watcher = await RunWatcher.watch(lab.url, response.body.runId, 0);
      await watcher.untilEnd(280_000);
      watcher.close();
      return { runId: response.body.runId, watcher };
    }

    const snapshotOf = async (runId: string) =>
      (await lab.request<RunSnapshot>('GET', `/api/runs/${runId}`)).body;

    let firstRunId = '';

    it('re-renders only the failing shots, within the budget, and merges the kept frames', async () => {
      const { runId, watcher } = await run('/api/runs', { graph: document() });
      firstRunId = runId;
      const snapshot = await snapshotOf(runId);
      expect(snapshot.status, snapshot.error).toBe('succeeded');

      // alpha passes at once; bravo passes on its second render; charlie never passes: it gets
      // the two renders the budget has left (3 - bravo's 1) and then stops.
      expect(served.alpha).toHaveLength(1);
      expect(served.bravo).toEqual([people[1].person, people[0].person]);
      expect(served.charlie).toHaveLength(3);
      expect(sd.requestsTo('POST', '/sdapi/v1/txt2img')).toHaveLength(6);

      const frames = snapshot.nodes.frames.outputs!.frames as ArtifactRef[];
      const consistency = snapshot.nodes.frames.outputs!.consistency as FrameConsistency[];
      expect(consistency.map((c) => [c.gated, c.pass, c.attempts])).toEqual([
        [true, true, 1],
        [true, true, 2],
        [true, false, 4 - 1],
      ]);
      expect(consistency[2].budgetExhausted).toBe(true);
      for (const c of consistency) {
        expect(c.identityVersion).toBeGreaterThanOrEqual(1);
        expect(c.threshold).toBeGreaterThan(0);
      }
      expect(consistency[0].distance!).toBeLessThan(consistency[0].threshold!);
      expect(consistency[2].distance!).toBeGreaterThan(consistency[2].threshold!);
      // Kept frames: Ada for the passing shots; the best-scoring stranger for charlie.
      expect(frames[0].id).toBe(sha(people[0].face));
      expect(frames[1].id).toBe(sha(people[0].face));
      expect(people.slice(1).map((p) => sha(p.face))).toContain(frames[2].id);

      // Every attempt is in the run's event log.
      const stages = watcher.events
        .filter((e) => e.nodeId === 'frames' && e.index === 2 && e.stage)
        .map((e) => e.stage!);
      for (const attempt of [1, 2, 3]) {
        expect(stages.some((s) => s.includes(`attempt ${attempt}/4`))).toBe(true);
      }
      expect(stages.some((s) => s.includes('budget (3) spent'))).toBe(true);

      // The clips and the merged MP4 were made from the kept frames.
      expect(snapshot.nodes.clips.outputs!.clips as unknown[]).toHaveLength(3);
      const video = snapshot.outputs.merge.video as ArtifactRef;
      expect(video.mime).toBe('video/mp4');
      const bytes = Buffer.from(
        await (await fetch(`${lab.url}/api/artifacts/${video.id}`)).arrayBuffer(),
      );
      expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    });

    it('redoes nothing when the same graph runs again', async () => {
      const before = sd.requestsTo('POST', '/sdapi/v1/txt2img').length;
      const { runId } = await run('/api/runs', { graph: document() });
      const snapshot = await snapshotOf(runId);
      expect(snapshot.status).toBe('succeeded');
      expect(sd.requestsTo('POST', '/sdapi/v1/txt2img')).toHaveLength(before);
      for (const id of ['frames', 'clips', 'merge'])
        expect(snapshot.nodes[id].status).toBe('cached');
      // The cached frames still carry their scores for the canvas.
      expect(snapshot.nodes.frames.outputs!.consistency).toHaveLength(3);
    });

    it('regenerates one shot with a new seed and keeps every other shot from the cache', async () => {
      const first = await snapshotOf(firstRunId);
      const before = sd.requestsTo('POST', '/sdapi/v1/txt2img').length;
      const { runId } = await run(`/api/runs/${firstRunId}/regenerate`, {
        nodeId: 'frames',
        index: 1,
      });
      const snapshot = await snapshotOf(runId);
      expect(snapshot.status).toBe('succeeded');
      const requests = sd.requestsTo('POST', '/sdapi/v1/txt2img').slice(before);
      expect(requests).toHaveLength(1);
      expect((requests[0].json as { prompt: string }).prompt).toContain('bravo');
      const oldSeeds = sd
        .requestsTo('POST', '/sdapi/v1/txt2img')
        .slice(0, before)
        .filter((r) => (r.json as { prompt: string }).prompt.includes('bravo'))
        .map((r) => (r.json as { seed: number }).seed);
      expect(oldSeeds).not.toContain((requests[0].json as { seed: number }).seed);

      const oldClips = first.nodes.clips.outputs!.clips as ArtifactRef[];
      const newClips = snapshot.nodes.clips.outputs!.clips as ArtifactRef[];
      expect(newClips[0]).toEqual(oldClips[0]);
      expect(newClips[2]).toEqual(oldClips[2]);
      expect(snapshot.outputs.merge.video).toBeDefined();
      // The graph document is untouched; the reroll lives in the run's plan.
      const record = await lab.engine.runs.get(runId);
      expect(record!.plan.rerolls).toEqual({ frames: { '1': 1 } });
      expect(record!.graph).toEqual((await lab.engine.runs.get(firstRunId))!.graph);
    });

    it('refuses regenerating an unknown node, an index out of range or a one-result node', async () => {
      const cases: [unknown, number, string][] = [
        [{ nodeId: 'nope', index: 0 }, 404, 'unknown_node'],
        [{ nodeId: 'frames', index: 3 }, 400, 'index_out_of_range'],
        [{ nodeId: 'merge', index: 0 }, 400, 'not_fan_out'],
        [{ nodeId: 'frames', index: -1 }, 400, 'invalid_request'],
      ];
      for (const [body, status, code] of cases) {
        const response = await lab.request<{ error: { code: string } }>(
          'POST',
          `/api/runs/${firstRunId}/regenerate`,
          body,
        );
        expect([response.status, response.body.error.code]).toEqual([status, code]);
      }
    });
  },
);

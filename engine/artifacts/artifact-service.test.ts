import { afterEach, describe, expect, it } from 'vitest';
import type { MediaProbe } from '../media/media-probe';
import { createTestNodeContext, type TestNodeContext } from '../testing/node-context';
import { KEPT_PROBE_VERSION } from './artifact-service';

const probe: MediaProbe = {
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 2,
  hasVideo: true,
  hasAudio: false,
  width: 64,
  height: 48,
  fps: 24,
  videoCodec: 'h264',
  pixelFormat: 'yuv420p',
  timeBase: '1/12288',
};

let t: TestNodeContext | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('ArtifactService: kept probes', () => {
  it('keeps a probe on the record, never on the ref, and adds one to bytes stored without', async () => {
    t = await createTestNodeContext();
    const bytes = Buffer.from('not really a video, the store does not look');
    const first = await t.artifacts.putBytes(bytes, 'video/mp4', { width: 64 });
    expect(await t.artifacts.knownProbe(first)).toBeUndefined();

    const again = await t.artifacts.putBytes(bytes, 'video/mp4', { width: 64, probe });
    expect(again).toEqual(first);
    expect(again).not.toHaveProperty('probe');
    expect(await t.artifacts.knownProbe(first)).toEqual(probe);
    const record = await t.stores.documents.artifacts.get(first.id);
    expect(record?.mediaProbe).toEqual({ version: KEPT_PROBE_VERSION, probe });

    // A second owner storing the same bytes gets a grant and leaves the kept probe alone.
    await t.artifacts.putBytes(bytes, 'video/mp4', {}, 'usr_bob');
    expect(await t.artifacts.knownProbe(first)).toEqual(probe);
    expect(await t.artifacts.readableByOwner(first.id, 'usr_bob')).not.toBeNull();
  });

  it('keepProbe writes once; a probe of another version counts as none', async () => {
    t = await createTestNodeContext();
    const ref = await t.artifacts.putBytes(Buffer.from('clip'), 'video/mp4');
    await t.artifacts.keepProbe(ref, probe);
    await t.artifacts.keepProbe(ref, { ...probe, width: 1 });
    expect(await t.artifacts.knownProbe(ref)).toEqual(probe);

    const record = (await t.stores.documents.artifacts.get(ref.id))!;
    await t.stores.documents.artifacts.put({
      ...record,
      mediaProbe: { version: KEPT_PROBE_VERSION + 1, probe },
    });
    expect(await t.artifacts.knownProbe(ref)).toBeUndefined();
    await t.artifacts.keepProbe({ id: 'f'.repeat(64) }, probe); // no record: nothing to keep on
    expect(await t.stores.documents.artifacts.get('f'.repeat(64))).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { VideoProbe } from './media-probe';
import { effectiveCrossfade, planMerge } from './merge';

function clip(durationSec: number, hasAudio = false): { file: string; probe: VideoProbe } {
  return {
    file: `/clips/${durationSec}.mp4`,
    probe: {
      formatName: 'mp4',
      durationSec,
      width: 320,
      height: 180,
      fps: 24,
      videoCodec: 'h264',
      hasVideo: true,
      hasAudio,
    },
  };
}

const size = { width: 320, height: 180, fps: 24 };

describe('planMerge', () => {
  it('normalises every clip and concatenates them, video only when no clip has sound', () => {
    const plan = planMerge({ ...size, clips: [clip(2), clip(1.5)], crossfadeSec: 0 });
    expect(plan.durationSec).toBe(3.5);
    expect(plan.audioLabel).toBeUndefined();
    expect(plan.filterGraph).toContain(
      '[0:v]scale=320:180:force_original_aspect_ratio=decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=24,format=yuv420p',
    );
    expect(plan.filterGraph).toContain('[v0][v1]concat=n=2:v=1:a=0[joinedv]');
  });

  it('gives silent clips generated silence of their own length when another clip has sound', () => {
    const plan = planMerge({ ...size, clips: [clip(2), clip(1.5, true)], crossfadeSec: 0 });
    expect(plan.filterGraph).toContain('anullsrc=r=48000:cl=stereo,atrim=duration=2.000[a0]');
    expect(plan.filterGraph).toContain('[1:a]aresample=48000');
    expect(plan.filterGraph).toContain('[v0][a0][v1][a1]concat=n=2:v=1:a=1[joinedv][joineda]');
    expect(plan.audioLabel).toBe('joineda');
  });

  it('chains xfade with offsets from the durations and shortens the total by (n-1)·T', () => {
    const plan = planMerge({ ...size, clips: [clip(2), clip(2), clip(1.5)], crossfadeSec: 0.5 });
    expect(plan.filterGraph).toContain(
      '[v0][v1]xfade=transition=fade:duration=0.500:offset=1.500[xv1]',
    );
    expect(plan.filterGraph).toContain(
      '[xv1][v2]xfade=transition=fade:duration=0.500:offset=3.000[joinedv]',
    );
    expect(plan.durationSec).toBeCloseTo(4.5);
  });

  it('shortens a crossfade that a short clip cannot hold', () => {
    expect(effectiveCrossfade(1.5, [2, 1, 3])).toBe(0.5);
    expect(effectiveCrossfade(1.5, [4])).toBe(0);
    expect(planMerge({ ...size, clips: [clip(2), clip(1)], crossfadeSec: 2 }).crossfadeSec).toBe(
      0.5,
    );
  });

  it('mixes music under the clips, trimmed to the video with a fade-out', () => {
    const music = {
      file: '/m.mp3',
      probe: { formatName: 'mp3', durationSec: 30, hasVideo: false, hasAudio: true },
    };
    const plan = planMerge({
      ...size,
      clips: [clip(2, true), clip(2)],
      crossfadeSec: 0,
      audio: music,
    });
    expect(plan.filterGraph).toContain(
      '[2:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=duration=4.000,afade=t=out:st=3.000:d=1.000[music]',
    );
    expect(plan.filterGraph).toContain('[joineda][music]amix=inputs=2:duration=first');
    expect(plan.audioLabel).toBe('mixeda');
    const musicOnly = planMerge({ ...size, clips: [clip(2)], crossfadeSec: 0, audio: music });
    expect(musicOnly.audioLabel).toBe('music');
  });

  it('keeps a track that ends inside the picture at full level: no fade on a narration', () => {
    const narration = (durationSec: number) => ({
      file: '/n.m4a',
      probe: { formatName: 'mov,mp4,m4a', durationSec, hasVideo: false, hasAudio: true },
    });
    const fitted = planMerge({
      ...size,
      clips: [clip(2), clip(2)],
      crossfadeSec: 0,
      audio: narration(4.02),
    });
    expect(fitted.filterGraph).toContain('apad,atrim=duration=4.000[music]');
    expect(fitted.filterGraph).not.toContain('afade');
    const shorter = planMerge({
      ...size,
      clips: [clip(2), clip(2)],
      crossfadeSec: 0,
      audio: narration(3),
    });
    expect(shorter.filterGraph).not.toContain('afade');
  });

  it('burns subtitles last, with the file path escaped for the filtergraph', () => {
    const plan = planMerge(
      { ...size, clips: [clip(1)], crossfadeSec: 0 },
      "/tmp/it's:here/subs.srt",
    );
    expect(plan.filterGraph).toContain(
      "[joinedv]subtitles=filename=/tmp/it\\\\\\'s\\\\:here/subs.srt:",
    );
    expect(plan.videoLabel).toBe('subbed');
  });
});

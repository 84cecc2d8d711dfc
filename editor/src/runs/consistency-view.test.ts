import { describe, expect, it } from 'vitest';
import type { FrameConsistency } from '../../../nodes/sd-lora-frame/consistency';
import { consistencySummary, frameConsistency, scoreBadge, scoreBadges } from './consistency-view';

const gated = (overrides: Partial<FrameConsistency> = {}): FrameConsistency => ({
  gated: true,
  distance: 0.31,
  threshold: 0.5,
  pass: true,
  attempts: 1,
  seed: 42,
  identityVersion: 2,
  ...overrides,
});

describe('consistency badges', () => {
  it('shows the distance, green when it passes and red when it fails', () => {
    expect(scoreBadge(gated(), 0)).toMatchObject({ label: '0.31', tone: 'pass', stale: false });
    const fail = scoreBadge(gated({ distance: 0.72, pass: false, attempts: 3 }), 1);
    expect(fail).toMatchObject({ label: '0.72', tone: 'fail' });
    expect(fail.title).toBe(
      'Shot 2: face distance 0.72 (threshold 0.50), fails after 3 attempts · identity v2',
    );
  });

  it('counts a frame without a face as failing', () => {
    expect(scoreBadge(gated({ distance: null, pass: false }), 0)).toMatchObject({
      label: 'no face',
      tone: 'fail',
    });
  });

  it('says why a frame was not checked', () => {
    const badge = scoreBadge(
      { ...gated(), gated: false, reason: 'character-absent', pass: null, distance: null },
      2,
    );
    expect(badge.tone).toBe('off');
    expect(badge.title).toContain('the storyboard says the character is not in this shot');
  });

  it('marks frames scored against an older identity version', () => {
    const badge = scoreBadge(gated({ identityVersion: 1 }), 0, 3);
    expect(badge.stale).toBe(true);
    expect(badge.title).toContain('scored against identity v1, the character is now v3');
    expect(scoreBadge(gated({ identityVersion: 3 }), 0, 3).stale).toBe(false);
  });

  it('reads the consistency list from node outputs and ignores anything else', () => {
    expect(frameConsistency({ frames: [] })).toBeUndefined();
    expect(frameConsistency({ consistency: [gated(), 'junk', null] })).toEqual([
      gated(),
      null,
      null,
    ]);
    expect(scoreBadges([gated(), null])[1]).toBeUndefined();
  });

  it('summarises passes and re-renders for the run panel', () => {
    expect(
      consistencySummary([
        gated(),
        gated({ attempts: 3, pass: false, distance: 0.8 }),
        { ...gated(), gated: false, reason: 'character-absent' },
      ]),
    ).toBe('1/2 checked frames look like the character · 2 re-renders · 1 not checked');
    expect(consistencySummary([{ ...gated(), gated: false, reason: 'no-identity' }])).toBe(
      'no frame was checked against the character',
    );
  });
});

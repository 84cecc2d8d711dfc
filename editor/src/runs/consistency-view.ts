/**
 * What the studio shows of the frames node's consistency gate: a badge per frame thumbnail
 * (score, red under the threshold) and the run summary's lines. Pure and tested; components
 * only render these. The data is the node's `consistency` output (one entry per shot).
 */
import type { FrameConsistency } from '../../../nodes/sd-lora-frame/consistency';

export type BadgeTone = 'pass' | 'fail' | 'off';

export interface ScoreBadge {
  /** Short text on the thumbnail: the face distance, "no face", or "—". */
  label: string;
  tone: BadgeTone;
  /** The full sentence for the tooltip and screen readers. */
  title: string;
  /** Scored against an older identity than the character has now. */
  stale: boolean;
}

const UNGATED: Record<NonNullable<FrameConsistency['reason']>, string> = {
  'character-absent': 'not checked: the storyboard says the character is not in this shot',
  'no-identity': 'not checked: no reference image of the character shows exactly one face',
  'gate-off': 'not checked: the consistency gate is off',
  'no-character': 'not checked: no character is connected',
};

/** The node's `consistency` list, when its outputs carry one. */
export function frameConsistency(
  outputs: Record<string, unknown> | undefined,
): (FrameConsistency | null)[] | undefined {
  const list = outputs?.consistency;
  if (!Array.isArray(list)) return undefined;
  return list.map((entry) => (isFrameConsistency(entry) ? entry : null));
}

/** One badge per frame; `currentIdentity` is the character's identity version now, if known. */
export function scoreBadges(
  list: readonly (FrameConsistency | null)[],
  currentIdentity?: number,
): (ScoreBadge | undefined)[] {
  return list.map((entry, index) =>
    entry ? scoreBadge(entry, index, currentIdentity) : undefined,
  );
}

export function scoreBadge(
  entry: FrameConsistency,
  index: number,
  currentIdentity?: number,
): ScoreBadge {
  const shot = `Shot ${index + 1}`;
  if (!entry.gated) {
    return {
      label: '—',
      tone: 'off',
      title: `${shot}: ${UNGATED[entry.reason ?? 'gate-off']}`,
      stale: false,
    };
  }
  const stale =
    currentIdentity !== undefined &&
    entry.identityVersion !== null &&
    entry.identityVersion < currentIdentity;
  const attempts = entry.attempts === 1 ? '1 attempt' : `${entry.attempts} attempts`;
  const verdict = entry.pass ? 'passes' : 'fails';
  const measured =
    entry.distance === null
      ? 'no face found'
      : `face distance ${entry.distance.toFixed(2)} (threshold ${entry.threshold?.toFixed(2)})`;
  const budget = entry.budgetExhausted ? '; the run’s attempt budget ran out' : '';
  const version = stale
    ? `; scored against identity v${entry.identityVersion}, the character is now v${currentIdentity}`
    : ` · identity v${entry.identityVersion}`;
  return {
    label: entry.distance === null ? 'no face' : entry.distance.toFixed(2),
    tone: entry.pass ? 'pass' : 'fail',
    title: `${shot}: ${measured}, ${verdict} after ${attempts}${budget}${version}`,
    stale,
  };
}

/** The run summary line of one frames node: how many shots passed, and how many renders it took. */
export function consistencySummary(list: readonly (FrameConsistency | null)[]): string {
  const gated = list.filter((entry): entry is FrameConsistency => !!entry?.gated);
  if (gated.length === 0) return 'no frame was checked against the character';
  const passed = gated.filter((entry) => entry.pass).length;
  const renders = list.reduce((sum, entry) => sum + (entry?.attempts ?? 1), 0);
  const extra = renders - list.length;
  const skipped = list.length - gated.length;
  return [
    `${passed}/${gated.length} checked frames look like the character`,
    extra > 0 ? `${extra} re-render${extra === 1 ? '' : 's'}` : 'no re-renders',
    skipped > 0 ? `${skipped} not checked` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

function isFrameConsistency(value: unknown): value is FrameConsistency {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FrameConsistency).gated === 'boolean' &&
    typeof (value as FrameConsistency).attempts === 'number'
  );
}

/**
 * The local storyboard: plain rules over the script's sentences, no model. Deterministic, so
 * the same script always gives the same shots (and the same cache keys downstream).
 */
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import {
  storyboardSchema,
  type Camera,
  type Character,
  type Shot,
  type Storyboard,
} from '../../../engine/graph/values';

export interface LocalStoryboardParams {
  /** The most shots to make; fewer when the script has fewer sentences. */
  shots: number;
  shotDurationSec: number;
  style: string;
}

export interface LocalStoryboardArgs {
  script: string;
  character?: Character;
  params: LocalStoryboardParams;
}

const NEGATIVE_PROMPT =
  'blurry, low quality, jpeg artifacts, deformed, bad anatomy, extra limbs, watermark, text, logo';
const CHARACTER_NEGATIVE = 'different person, inconsistent face, changed outfit';

/**
 * Camera moves read from the words of a shot; the first rule that matches wins. Specific
 * directions come before general ones ("looks up" is a tilt even though "looks" is not).
 */
const CAMERA_RULES: readonly { camera: Camera; pattern: RegExp }[] = [
  {
    camera: 'push-in',
    pattern:
      /\b(approach(es|ed|ing)?|moves? (closer|toward|towards|in)|comes? (closer|near|toward|towards)|walks? (up to|toward|towards)|steps? (forward|closer)|leans? in|closer|zooms? in|focus(es)? on|stares?)\b/,
  },
  {
    camera: 'pull-out',
    pattern:
      /\b(leaves?|leaving|walks? away|moves? away|retreats?|steps? back|backs? away|departs?|recedes?|disappears?|vanish(es)?|reveal(s|ed|ing)?|in the distance|zooms? out|alone in)\b/,
  },
  {
    camera: 'tilt-up',
    pattern:
      /\b(looks? up|gazes? up|climbs?|rises?|rising|soars?|ascends?|towers?|skyward|lifts? (his|her|their) (head|eyes))\b/,
  },
  {
    camera: 'tilt-down',
    pattern:
      /\b(looks? down|gazes? down|falls?|drops?|descends?|kneels?|sinks?|bows?|at (his|her|their) feet)\b/,
  },
  {
    camera: 'pan-left',
    pattern: /\b(turns? (to the )?left|looks? (to the )?left|to the left|westward|leftward)\b/,
  },
  {
    camera: 'pan-right',
    pattern:
      /\b(looks? out|gazes? out|looks? (across|over|around)|surveys?|scans?|overlooks?|panorama|horizon|across|turns? (to the )?right|to the right|eastward|runs?|races?|walks? along)\b/,
  },
  {
    camera: 'static',
    pattern: /\b(waits?|sits?|stands? still|silen(t|ce)|pauses?|motionless|sleeps?|still)\b/,
  },
];

/** Used in turn when no rule matches, so a plain script still gets varied movement. */
const FALLBACK_CAMERAS: readonly Camera[] = [
  'push-in',
  'pan-right',
  'static',
  'pull-out',
  'pan-left',
  'tilt-up',
];

const FRAMING: Record<Camera, string> = {
  static: 'medium shot',
  'push-in': 'medium close-up',
  'pull-out': 'wide shot',
  'pan-left': 'wide establishing shot',
  'pan-right': 'wide establishing shot',
  'tilt-up': 'low angle shot',
  'tilt-down': 'high angle shot',
};

/** Builds a storyboard from the script's sentences, validated against the storyboard schema. */
export function buildLocalStoryboard({
  script,
  character,
  params,
}: LocalStoryboardArgs): Storyboard {
  const sentences = splitSentences(script);
  if (sentences.length === 0) {
    throw new NonRetryableNodeError(
      'the script is empty: write a few sentences in the script node',
      'empty_script',
    );
  }
  const groups = groupEvenly(sentences, Math.max(1, Math.floor(params.shots)));
  const shots: Shot[] = groups.map((group, index) => {
    const description = group.join(' ');
    const dialogue = extractDialogue(description);
    const camera = chooseCamera(description, index);
    return {
      index,
      description,
      prompt: buildPrompt(description, camera, character, params.style),
      negativePrompt: character ? `${NEGATIVE_PROMPT}, ${CHARACTER_NEGATIVE}` : NEGATIVE_PROMPT,
      camera,
      durationSec: params.shotDurationSec,
      ...(dialogue ? { dialogue } : {}),
      ...(character ? { characterPresent: mentionsCharacter(description, character) } : {}),
    };
  });
  return storyboardSchema.parse({ title: makeTitle(sentences[0], character), shots });
}

/** Words that put a person in a sentence; a shot with none of them and no name is scenery. */
const PERSON_WORDS =
  /\b(he|she|him|her|his|hers|they|them|their|i|me|my|we|us|our|you|your|herself|himself)\b/i;

/**
 * Whether a shot's text shows the character: it names them (any word of the name, or the
 * trigger word) or speaks of a person. "The valley glows at dawn." is an establishing shot the
 * frames node's consistency gate then leaves unchecked; a wrong "present" only costs a check.
 */
export function mentionsCharacter(text: string, character: Character): boolean {
  if (PERSON_WORDS.test(text) || /["“”]/.test(text)) return true;
  const names = [...character.name.split(/\s+/), character.triggerWord ?? '']
    .map((word) => word.trim().toLowerCase())
    .filter((word) => word.length > 1);
  const words = new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []);
  return names.some((name) => words.has(name));
}

/**
 * Splits text into sentences at `.`, `!`, `?` or `…` followed by a space or line end, and at
 * blank lines. A terminator inside quoted speech does not end the sentence unless the quote
 * closes right after it ("Wait!" she said. stays one sentence).
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const flat = paragraph.replace(/\s+/g, ' ').trim();
    let start = 0;
    let inQuote = false;
    const toggle = (c: string) => {
      if (c === '“') inQuote = true;
      else if (c === '”') inQuote = false;
      else if (c === '"') inQuote = !inQuote;
    };
    for (let i = 0; i < flat.length; i++) {
      toggle(flat[i]);
      if (!/[.!?…]/.test(flat[i])) continue;
      let end = i + 1;
      let closedQuote = false;
      while (end < flat.length && /[.!?…"”')\]]/.test(flat[end])) {
        const wasInQuote = inQuote;
        toggle(flat[end]);
        if (wasInQuote && !inQuote) closedQuote = true;
        end++;
      }
      i = end - 1;
      // Still inside speech ("Stop. Come back."), glued to more text (3.5), or speech that
      // the sentence goes on after ("Wait!" she said.): not a sentence end.
      if (inQuote || (end < flat.length && flat[end] !== ' ')) continue;
      if (closedQuote && /^ [a-z]/.test(flat.slice(end, end + 2))) continue;
      sentences.push(flat.slice(start, end).trim());
      start = end + 1;
    }
    const rest = flat.slice(start).trim();
    if (rest) sentences.push(rest);
  }
  return sentences.filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Splits items into at most `count` consecutive groups whose sizes differ by at most one. */
export function groupEvenly<T>(items: readonly T[], count: number): T[][] {
  const groups = Math.min(count, items.length);
  const base = Math.floor(items.length / groups);
  const extra = items.length % groups;
  const result: T[][] = [];
  let at = 0;
  for (let g = 0; g < groups; g++) {
    const size = base + (g < extra ? 1 : 0);
    result.push(items.slice(at, at + size));
    at += size;
  }
  return result;
}

/** The camera move the words suggest, else the fallback cycle at this shot's index. */
export function chooseCamera(text: string, index: number): Camera {
  const lower = text.toLowerCase();
  const rule = CAMERA_RULES.find((r) => r.pattern.test(lower));
  return rule ? rule.camera : FALLBACK_CAMERAS[index % FALLBACK_CAMERAS.length];
}

/** Quoted speech in the text, joined: `"Look," she says. "Now!"` → `Look. Now!`. */
export function extractDialogue(text: string): string | undefined {
  // "We made it," she said → the words spoken end the line: "We made it."
  const quotes = [...text.matchAll(/"([^"]+)"|“([^”]+)”/g)].map((m) =>
    (m[1] ?? m[2]).trim().replace(/[,;:]+$/, '.'),
  );
  const spoken = quotes.filter(Boolean).join(' ');
  return spoken || undefined;
}

function buildPrompt(
  description: string,
  camera: Camera,
  character: Character | undefined,
  style: string,
): string {
  const scene = description
    .replace(/"[^"]*"|“[^”]*”/g, ' ')
    .replace(/\s+([,.!?;:])/g, '$1')
    .replace(/\s+/g, ' ')
    .replace(/[\s,;:.!?…]+$/, '')
    .trim();
  const parts = [
    character?.triggerWord,
    character ? subjectOf(character) : undefined,
    truncate(scene || description, 400),
    FRAMING[camera],
    style.trim() || undefined,
  ];
  return parts.filter((p): p is string => Boolean(p && p.trim())).join(', ');
}

function subjectOf(character: Character): string {
  const description = character.description.trim().replace(/[.\s]+$/, '');
  return description ? `${character.name}, ${truncate(description, 200)}` : character.name;
}

function makeTitle(firstSentence: string, character: Character | undefined): string {
  const words = firstSentence
    .replace(/"[^"]*"|“[^”]*”/g, ' ')
    .replace(/[.!?…]+$/, '')
    .split(/\s+/)
    .filter(Boolean);
  const opening = words.slice(0, 10).join(' ') + (words.length > 10 ? '…' : '');
  const title = opening || firstSentence.slice(0, 60);
  return character ? `${character.name}: ${title}` : title;
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

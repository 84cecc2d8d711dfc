import { describe, expect, it } from 'vitest';
import { storyboardSchema, type Character } from '../../../engine/graph/values';
import {
  buildLocalStoryboard,
  chooseCamera,
  extractDialogue,
  groupEvenly,
  mentionsCharacter,
  splitSentences,
} from './local';

const params = { shots: 4, shotDurationSec: 2.5, style: 'watercolour, soft light' };
const mara: Character = {
  id: 'mara',
  name: 'Mara',
  description: 'a young explorer in a red coat.',
  triggerWord: 'mara_v1',
  referenceImages: [],
};

describe('splitSentences', () => {
  it('splits at sentence ends and blank lines, keeping quoted speech whole', () => {
    expect(
      splitSentences('She climbs. "Wait! Come back." He stops.\n\nNight falls… The end?  Yes!'),
    ).toEqual([
      'She climbs.',
      '"Wait! Come back."',
      'He stops.',
      'Night falls…',
      'The end?',
      'Yes!',
    ]);
  });

  it('keeps a sentence that goes on after quoted speech, and decimals', () => {
    expect(splitSentences('"Wait!" she said. It cost 3.5 coins.')).toEqual([
      '"Wait!" she said.',
      'It cost 3.5 coins.',
    ]);
    expect(splitSentences('“Look,” he whispers. Then silence')).toEqual([
      '“Look,” he whispers.',
      'Then silence',
    ]);
  });

  it('drops fragments without words', () => {
    expect(splitSentences('...  !!  \n\n  ')).toEqual([]);
  });
});

describe('groupEvenly', () => {
  it('makes at most n consecutive groups differing in size by at most one', () => {
    expect(groupEvenly([1, 2, 3, 4, 5, 6, 7], 3)).toEqual([
      [1, 2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(groupEvenly([1, 2], 5)).toEqual([[1], [2]]);
  });
});

describe('chooseCamera', () => {
  it('reads the move from the words', () => {
    expect(chooseCamera('She looks out over the valley.', 0)).toBe('pan-right');
    expect(chooseCamera('The stranger approaches the fire.', 0)).toBe('push-in');
    expect(chooseCamera('He walks away into the fog.', 0)).toBe('pull-out');
    expect(chooseCamera('She looks up at the tower.', 0)).toBe('tilt-up');
    expect(chooseCamera('The lantern falls into the well.', 0)).toBe('tilt-down');
    expect(chooseCamera('He turns to the left.', 0)).toBe('pan-left');
    expect(chooseCamera('They wait in silence.', 0)).toBe('static');
  });

  it('falls back to a fixed cycle by shot index', () => {
    const plain = 'A red door.';
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => chooseCamera(plain, i))).toEqual([
      'push-in',
      'pan-right',
      'static',
      'pull-out',
      'pan-left',
      'tilt-up',
      'push-in',
    ]);
  });
});

describe('extractDialogue', () => {
  it('joins the quoted speech, straight or curly', () => {
    expect(extractDialogue('"We made it," she whispers. “Finally.”')).toBe('We made it. Finally.');
    expect(extractDialogue('No one speaks.')).toBeUndefined();
  });
});

describe('buildLocalStoryboard', () => {
  const script =
    'A lone explorer reaches the top of the ridge. She looks out over the glowing valley. ' +
    '"We made it," she whispers. A shadow approaches from the trees. She turns to the left. The wind howls.';

  it('merges sentences into at most `shots` shots, with prompts, cameras, durations and dialogue', () => {
    const storyboard = buildLocalStoryboard({ script, character: mara, params });
    expect(storyboardSchema.parse(storyboard)).toEqual(storyboard);
    expect(storyboard.title).toBe('Mara: A lone explorer reaches the top of the ridge');
    expect(storyboard.shots.map((s) => s.description)).toEqual([
      'A lone explorer reaches the top of the ridge. She looks out over the glowing valley.',
      '"We made it," she whispers. A shadow approaches from the trees.',
      'She turns to the left.',
      'The wind howls.',
    ]);
    expect(storyboard.shots.map((s) => s.camera)).toEqual([
      'pan-right',
      'push-in',
      'pan-left',
      'pull-out',
    ]);
    expect(storyboard.shots.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(storyboard.shots.every((s) => s.durationSec === 2.5)).toBe(true);
    expect(storyboard.shots[1].dialogue).toBe('We made it.');
    expect(storyboard.shots[0].dialogue).toBeUndefined();

    const prompt = storyboard.shots[1].prompt;
    expect(prompt.startsWith('mara_v1, Mara, a young explorer in a red coat, ')).toBe(true);
    expect(prompt).toContain('A shadow approaches from the trees');
    expect(prompt).not.toContain('We made it');
    expect(prompt.endsWith('watercolour, soft light')).toBe(true);
    expect(storyboard.shots[0].negativePrompt).toContain('inconsistent face');
  });

  it('is deterministic and works without a character', () => {
    const a = buildLocalStoryboard({ script, params: { ...params, shots: 2 } });
    expect(buildLocalStoryboard({ script, params: { ...params, shots: 2 } })).toEqual(a);
    expect(a.shots).toHaveLength(2);
    expect(a.title).toBe('A lone explorer reaches the top of the ridge');
    expect(a.shots[0].prompt.startsWith('A lone explorer')).toBe(true);
    expect(a.shots[0].negativePrompt).not.toContain('inconsistent face');
  });

  it('makes one shot per sentence when there are fewer sentences than shots', () => {
    expect(buildLocalStoryboard({ script: 'Rain.', params }).shots).toHaveLength(1);
  });

  it('rejects an empty script for good', () => {
    expect(() => buildLocalStoryboard({ script: '  \n ', params })).toThrow(
      expect.objectContaining({ name: 'NonRetryableNodeError', code: 'empty_script' }),
    );
  });
});

describe('prompts', () => {
  it('do not end a scene with sentence punctuation before the framing words', () => {
    const [shot] = buildLocalStoryboard({ script: 'The tower rises.', params }).shots;
    expect(shot.prompt).toBe('The tower rises, low angle shot, watercolour, soft light');
  });
});

describe('characterPresent (the frames gate skips shots without the character)', () => {
  const mira: Character = {
    id: 'c',
    name: 'Mira Vale',
    description: '',
    referenceImages: [],
    triggerWord: 'mira_char',
  };

  it('marks shots that name the character or speak of a person, and scenery as absent', () => {
    const storyboard = buildLocalStoryboard({
      script: 'The valley glows at dawn. Mira climbs the ridge. She smiles. Wind bends the grass.',
      character: mira,
      params: { shots: 4, shotDurationSec: 2, style: '' },
    });
    expect(storyboard.shots.map((shot) => shot.characterPresent)).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('leaves the flag out without a character', () => {
    const storyboard = buildLocalStoryboard({
      script: 'The valley glows at dawn.',
      params: { shots: 1, shotDurationSec: 2, style: '' },
    });
    expect(storyboard.shots[0]).not.toHaveProperty('characterPresent');
  });

  it('matches whole words of the name and the trigger word, and quoted speech', () => {
    expect(mentionsCharacter('Vale looks up.', mira)).toBe(true);
    expect(mentionsCharacter('A mira_char portrait.', mira)).toBe(true);
    expect(mentionsCharacter('"Run!"', mira)).toBe(true);
    expect(mentionsCharacter('Miranda Street is empty.', mira)).toBe(false);
  });
});

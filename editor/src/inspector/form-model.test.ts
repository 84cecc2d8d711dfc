import { describe, expect, it } from 'vitest';
import { nodeTypes } from '../test/fixtures';
import {
  buildField,
  buildFormModel,
  buildValueField,
  humanize,
  parseNumberText,
  randomSeed,
  validateValue,
  validateValues,
} from './form-model';

const form = (type: string) => buildFormModel(nodeTypes().find((t) => t.type === type)!);
const field = (type: string, key: string) => form(type).find((f) => f.key === key)!;

describe('buildFormModel', () => {
  it('picks widgets from x-ui hints and schema types', () => {
    expect(form('sd-lora-frame').map((f) => [f.key, f.widget])).toEqual([
      ['provider', 'select'],
      ['width', 'number'],
      ['height', 'number'],
      ['steps', 'number'],
      ['cfgScale', 'number'],
      ['sampler', 'text'],
      ['seed', 'seed'],
      ['checkpoint', 'text'],
      ['reference', 'select'],
      ['referenceWeight', 'number'],
      ['gate', 'toggle'],
      ['maxAttempts', 'number'],
      ['attemptBudget', 'number'],
      ['threshold', 'number'],
    ]);
    expect(field('script-input', 'text').widget).toBe('textarea');
    expect(field('character-loader', 'characterId').widget).toBe('character');
    expect(field('image-input', 'image')).toMatchObject({ widget: 'image-upload', nullable: true });
    expect(field('ffmpeg-merge', 'subtitles').widget).toBe('toggle');
  });

  it('carries bounds, steps, options, labels, help and the advanced flag', () => {
    expect(field('sd-lora-frame', 'width')).toMatchObject({
      min: 64,
      max: 2048,
      multipleOf: 8,
      step: 8,
      integer: true,
    });
    expect(field('gpt-storyboard', 'shotDurationSec')).toMatchObject({
      label: 'Seconds per shot',
      step: 'any',
      min: 1,
      max: 10,
    });
    expect(field('sd-lora-frame', 'cfgScale')).toMatchObject({
      label: 'CFG scale',
      advanced: true,
    });
    expect(field('gpt-storyboard', 'provider').options?.map((o) => o.value)).toEqual([
      'auto',
      'openai',
      'local',
    ]);
    expect(field('gpt-storyboard', 'provider').help).toMatch(/OPENAI_API_KEY/);
    expect(field('runway-clip', 'seed')).toMatchObject({ min: 0, max: 4294967295, default: 7 });
  });

  it('reads hints sent beside the schema and infers widgets without hints', () => {
    const f = buildField(
      'notes',
      { type: 'string', maxLength: 5000 },
      { label: 'Notes', advanced: true },
      true,
    );
    expect(f).toMatchObject({ widget: 'textarea', label: 'Notes', advanced: true, required: true });
    expect(buildField('mode', { enum: ['a', 'b'] }, undefined, false).widget).toBe('select');
    expect(buildField('blob', { type: 'object' }, undefined, false).widget).toBe('json');
    expect(humanize('shotDurationSec')).toBe('Shot duration (s)');
    expect(humanize('loraName')).toBe('Lora name');
  });
});

describe('validateValue', () => {
  it('checks numbers: type, whole numbers, bounds and steps', () => {
    const width = field('sd-lora-frame', 'width');
    expect(validateValue(width, 768)).toBeNull();
    expect(validateValue(width, 770)).toBe('must be a multiple of 8');
    expect(validateValue(width, 32)).toBe('must be at least 64');
    expect(validateValue(width, 4096)).toBe('must be at most 2048');
    expect(validateValue(width, 64.5)).toBe('enter a whole number');
    expect(validateValue(width, 'wide')).toBe('enter a number');
    expect(validateValue(field('gpt-storyboard', 'shotDurationSec'), 2.5)).toBeNull();
    expect(validateValue(field('ffmpeg-merge', 'crossfadeSec'), 0.3)).toBeNull();
  });

  it('checks text length, options and nullability', () => {
    expect(validateValue(field('gpt-storyboard', 'model'), '')).toBe('cannot be empty');
    expect(validateValue(field('gpt-storyboard', 'style'), 'x'.repeat(201))).toBe(
      'at most 200 characters (now 201)',
    );
    expect(validateValue(field('gpt-storyboard', 'provider'), 'gemini')).toBe(
      'pick one of auto, openai, local',
    );
    expect(validateValue(field('image-input', 'image'), null)).toBeNull();
    expect(validateValue(field('sd-lora-frame', 'seed'), null)).toBe('a value is required');
    expect(
      validateValue(
        buildField('id', { type: 'string', pattern: '^[a-z]+$' }, undefined, false),
        'A1',
      ),
    ).toMatch(/expected format/);
  });
});

describe('number text and seeds', () => {
  it('parses only complete numbers', () => {
    expect(parseNumberText('42')).toBe(42);
    expect(parseNumberText(' -1.5 ')).toBe(-1.5);
    expect(parseNumberText('1e3')).toBe(1000);
    for (const text of ['', '-', '1e', 'abc', '1,5']) expect(parseNumberText(text)).toBeUndefined();
  });

  it('rolls seeds inside the bounds', () => {
    const seed = field('sd-lora-frame', 'seed');
    expect(randomSeed(seed, () => 0)).toBe(0);
    expect(randomSeed(seed, () => 0.999999999999)).toBe(4294967295);
    expect(validateValue(seed, randomSeed(seed))).toBeNull();
  });
});

describe('template values: the inspector’s fields under the template’s labels', () => {
  const shots = { type: 'integer', minimum: 1, maximum: 24, default: 4 } as const;

  it('keys a field nodeId.param and takes its label, help and default from the exposed entry', () => {
    const { key, field, initial } = buildValueField(
      {
        nodeId: 'story',
        param: 'shots',
        label: 'How many shots',
        help: 'One clip each',
        default: 3,
      },
      shots,
      { label: 'Shots (at most)' },
      6,
    );
    expect(key).toBe('story.shots');
    expect(field).toMatchObject({
      key: 'story.shots',
      label: 'How many shots',
      help: 'One clip each',
      widget: 'number',
      min: 1,
      max: 24,
      required: true,
    });
    // The suggested default wins over the value the template ships with.
    expect(initial).toBe(3);
  });

  it('starts from the shipped value when no default is set, keeping the param’s own help', () => {
    const { field, initial } = buildValueField(
      { nodeId: 'story', param: 'shots', label: 'Shots' },
      { ...shots, description: 'At most this many' },
      undefined,
      6,
    );
    expect(initial).toBe(6);
    expect(field.help).toBe('At most this many');
  });

  it('refuses values outside the param schema, keyed like the API’s values', () => {
    const fields = [
      buildValueField({ nodeId: 'story', param: 'shots', label: 'Shots' }, shots, undefined, 4),
      buildValueField(
        { nodeId: 'script', param: 'text', label: 'Script' },
        { type: 'string', minLength: 1, maxLength: 20_000 },
        { widget: 'textarea' },
        'Hello.',
      ),
    ];
    expect(validateValues(fields, { 'story.shots': 4, 'script.text': 'Hi.' })).toEqual({});
    expect(validateValues(fields, { 'story.shots': 99, 'script.text': '' })).toEqual({
      'story.shots': 'must be at most 24',
      'script.text': 'cannot be empty',
    });
    // Left empty is refused too: the run would get nothing where the graph expects a value.
    expect(validateValues(fields, { 'script.text': 'Hi.' })).toEqual({
      'story.shots': 'a value is required',
    });
  });
});

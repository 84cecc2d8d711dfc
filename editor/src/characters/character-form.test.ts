import { describe, expect, it } from 'vitest';
import {
  characterFormFrom,
  emptyCharacterForm,
  rejectImages,
  toCharacterInput,
  validateCharacterForm,
} from './character-form';

describe('character form', () => {
  it('requires a name and a numeric LoRA weight in range when a LoRA is named', () => {
    expect(validateCharacterForm(emptyCharacterForm(), 0)).toEqual({
      name: 'give the character a name',
    });
    const form = { ...emptyCharacterForm(), name: 'Mira', loraName: 'mira_v2', loraWeight: '7' };
    expect(validateCharacterForm(form, 1)).toEqual({
      loraWeight: 'between -5 and 5 (0.6–1.0 is typical)',
    });
    expect(validateCharacterForm({ ...form, loraWeight: 'x' }, 1).loraWeight).toMatch(
      /enter a number/,
    );
    expect(
      validateCharacterForm({ ...form, loraWeight: '0.8', triggerWord: 'two words' }, 1),
    ).toEqual({
      triggerWord: 'one word, as used in the LoRA training captions',
    });
  });

  it('rejects non-images and huge files by name', () => {
    expect(
      rejectImages([
        { name: 'a.png', type: 'image/png', size: 10 },
        { name: 'b.gif', type: 'image/gif', size: 10 },
        { name: 'c.jpg', type: 'image/jpeg', size: 30 * 1024 * 1024 },
      ]),
    ).toEqual(['b.gif: not a PNG, JPEG or WebP image', 'c.jpg: larger than 20 MB']);
  });

  it('round-trips a record and drops the weight without a LoRA', () => {
    const record = {
      id: 'mira',
      name: 'Mira',
      description: 'red scarf',
      triggerWord: 'mira',
      lora: { name: 'mira_v2', weight: 0.7 },
      referenceImages: [],
    };
    expect(toCharacterInput(characterFormFrom(record))).toEqual({
      name: 'Mira',
      description: 'red scarf',
      triggerWord: 'mira',
      loraName: 'mira_v2',
      loraWeight: 0.7,
    });
    expect(toCharacterInput({ ...emptyCharacterForm(), name: ' A ' }).loraWeight).toBeNull();
  });
});

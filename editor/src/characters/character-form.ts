/**
 * The character form's values and checks (create and edit), kept out of React so the rules
 * are tested and the same everywhere. The server checks again; this gives instant feedback.
 */
import type { CharacterInput } from '../api/client';
import type { CharacterRecord } from '../api/types';

export interface CharacterFormValues {
  name: string;
  description: string;
  triggerWord: string;
  loraName: string;
  /** Text as typed, so "0." can be typed on the way to "0.8". */
  loraWeight: string;
}

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export function emptyCharacterForm(): CharacterFormValues {
  return { name: '', description: '', triggerWord: '', loraName: '', loraWeight: '0.8' };
}

export function characterFormFrom(record: CharacterRecord): CharacterFormValues {
  return {
    name: record.name,
    description: record.description ?? '',
    triggerWord: record.triggerWord ?? '',
    loraName: record.lora?.name ?? '',
    loraWeight: String(record.lora?.weight ?? 0.8),
  };
}

export type CharacterFormErrors = Partial<Record<keyof CharacterFormValues | 'images', string>>;

export function validateCharacterForm(
  values: CharacterFormValues,
  imageCount: number,
): CharacterFormErrors {
  const errors: CharacterFormErrors = {};
  if (values.name.trim() === '') errors.name = 'give the character a name';
  else if (values.name.length > 100) errors.name = 'at most 100 characters';
  if (values.description.length > 2_000) errors.description = 'at most 2,000 characters';
  if (/\s/.test(values.triggerWord.trim()))
    errors.triggerWord = 'one word, as used in the LoRA training captions';
  if (values.loraName !== '') {
    const weight = Number(values.loraWeight);
    if (values.loraWeight.trim() === '' || !Number.isFinite(weight))
      errors.loraWeight = 'enter a number, e.g. 0.8';
    else if (weight < -5 || weight > 5) errors.loraWeight = 'between -5 and 5 (0.6–1.0 is typical)';
  }
  if (imageCount > 12) errors.images = 'at most 12 reference images';
  return errors;
}

/** Files that cannot be reference images, each with the reason. */
export function rejectImages(files: readonly Pick<File, 'name' | 'type' | 'size'>[]): string[] {
  return files.flatMap((file) => {
    if (!IMAGE_TYPES.includes(file.type)) return [`${file.name}: not a PNG, JPEG or WebP image`];
    if (file.size > MAX_IMAGE_BYTES) return [`${file.name}: larger than 20 MB`];
    return [];
  });
}

export function toCharacterInput(values: CharacterFormValues): CharacterInput {
  return {
    name: values.name.trim(),
    description: values.description.trim(),
    triggerWord: values.triggerWord.trim(),
    loraName: values.loraName.trim(),
    loraWeight: values.loraName.trim() === '' ? null : Number(values.loraWeight),
  };
}

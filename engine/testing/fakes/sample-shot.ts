/** One storyboard shot and character shared by the Stable Diffusion provider tests. */
import type { Character, Shot } from '../../graph/values';

export const sampleShot: Shot = {
  index: 2,
  description: 'Mara on the cliff',
  prompt: 'a young woman in a red coat on a cliff at dawn',
  negativePrompt: 'blurry, watermark',
  camera: 'push-in',
  durationSec: 3,
};

export const sampleCharacter: Character = {
  id: 'char_mara',
  name: 'Mara',
  description: 'short black hair, red coat',
  triggerWord: 'mara_tok',
  lora: { name: 'mara_v2', weight: 0.8 },
  referenceImages: [],
};

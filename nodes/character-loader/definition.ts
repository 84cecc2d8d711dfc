import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/** Loads a saved character (reference images, LoRA, trigger word) by id. */
export const characterLoader = defineNode({
  type: 'character-loader',
  version: 1,
  title: 'Character',
  category: 'Characters',
  color: '#f472b6',
  description: 'A saved character: reference images, trigger word and LoRA keep it consistent.',
  inputs: {},
  outputs: { character: { type: 'character', label: 'Character' } },
  params: z.object({ characterId: z.string().max(200).default('') }),
  paramUi: { characterId: { widget: 'character', label: 'Character' } },
  runsOn: 'lab-cpu',
  // Its output is the character as stored now, not a function of params alone.
  cacheable: false,
  // Room for embedding a character saved before identities existed (face detection per image).
  execution: { startToCloseSec: 300, heartbeatSec: 10 },
  check: (params) =>
    params.characterId === ''
      ? [{ param: 'characterId', message: 'no character chosen: pick one in the inspector' }]
      : [],
});

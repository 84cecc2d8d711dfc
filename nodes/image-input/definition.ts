import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';
import { artifactRefSchema } from '../../engine/graph/values';

/** An uploaded image, referenced by artifact id. */
export const imageInput = defineNode({
  type: 'image-input',
  version: 1,
  title: 'Image',
  category: 'Inputs',
  color: '#9aa5b1',
  description: 'An image you upload, e.g. a background plate or a reference.',
  inputs: {},
  outputs: { image: { type: 'image', label: 'Image' } },
  params: z.object({ image: artifactRefSchema.nullable().default(null) }),
  paramUi: { image: { widget: 'image-upload', label: 'Image' } },
  runsOn: 'inline',
  evaluate: (params) => ({ image: params.image }),
  check: (params) =>
    params.image === null
      ? [{ param: 'image', message: 'no image uploaded: upload one in the inspector' }]
      : [],
});

import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/** A script typed into the graph: the text every storyboard starts from. */
export const scriptInput = defineNode({
  type: 'script-input',
  version: 1,
  title: 'Script',
  category: 'Inputs',
  color: '#9aa5b1',
  description: 'The story in plain sentences. Each sentence can become a shot.',
  inputs: {},
  outputs: { text: { type: 'text', label: 'Text' } },
  params: z.object({
    text: z
      .string()
      .max(20_000)
      .default(
        'A lone explorer reaches the top of the ridge. She looks out over the glowing valley.',
      ),
  }),
  paramUi: { text: { widget: 'textarea', label: 'Script' } },
  runsOn: 'inline',
  evaluate: (params) => ({ text: params.text }),
  check: (params) =>
    params.text.trim() === ''
      ? [{ param: 'text', message: 'the script is empty: type a few sentences' }]
      : [],
});

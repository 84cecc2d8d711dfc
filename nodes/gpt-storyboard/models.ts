/**
 * Which OpenAI chat models can write a storyboard: the provider asks for strict structured
 * output (`response_format: json_schema`), which OpenAI serves on gpt-4o (2024-08-06 on),
 * gpt-4o-mini, gpt-4.1, o1 / o3 / o4-mini and the gpt-5 family, and refuses on older, audio,
 * search and non-chat models ("Invalid parameter: 'response_format' of type 'json_schema' is
 * not supported with this model"). Browser-safe: the validator checks the node's model param
 * against it before any paid call. Names follow openai-node 6.49.0's `ChatModel`.
 */

/** Model id prefixes with structured outputs, for messages. */
export const STRUCTURED_OUTPUT_FAMILIES = [
  'gpt-5*',
  'gpt-4.1*',
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4o-2024-08-06 / -11-20',
  'o1',
  'o3*',
  'o4-mini*',
] as const;

/** Chat models that reject `json_schema` output, or are not chat models at all. */
const WITHOUT_STRUCTURED_OUTPUT: RegExp[] = [
  /^gpt-3\.5/,
  /^gpt-4(-\d{4}|-32k|-turbo|-vision|-\d{4}-preview|-1106|-0125)?($|-)/,
  /^gpt-4o-2024-05-13$/,
  /^chatgpt-4o-latest$/,
  /^o1-(mini|preview)/,
  /-(audio|search)-preview/,
  /^(tts-|whisper|dall-e|gpt-image|text-embedding|omni-moderation|davinci|babbage)/,
  /^gpt-4o(-mini)?-(tts|transcribe|realtime)/,
];

/**
 * Undefined when the model can answer with a strict JSON schema (or is unknown to this table:
 * OpenAI-compatible servers behind OPENAI_BASE_URL use their own names), else the reason.
 */
export function structuredOutputProblem(model: string): string | undefined {
  const id = model.trim().toLowerCase();
  if (!WITHOUT_STRUCTURED_OUTPUT.some((pattern) => pattern.test(id))) return undefined;
  return (
    `${model} cannot answer with a strict JSON schema, which the storyboard needs; ` +
    `use a model of: ${STRUCTURED_OUTPUT_FAMILIES.join(', ')}`
  );
}

/**
 * From a node type's params JSON Schema (+ `x-ui` hints) to a form model, and the inline
 * checks each field runs while typing. Pure: the React form only renders what this returns,
 * so "which widget, which bounds, which message" is decided and tested here.
 */
import type { ExposedEntry, JsonSchema, NodeTypeInfo, ParamUiHint } from '../api/types';

export type FieldWidget = NonNullable<ParamUiHint['widget']> | 'json';

export interface FormField {
  key: string;
  label: string;
  widget: FieldWidget;
  help?: string;
  advanced: boolean;
  required: boolean;
  /** The param may be null (e.g. no image uploaded yet). */
  nullable: boolean;
  default?: unknown;
  options?: { value: string | number | boolean; label: string }[];
  integer: boolean;
  min?: number;
  max?: number;
  exclusiveMin?: number;
  exclusiveMax?: number;
  multipleOf?: number;
  /** Step for number inputs: multipleOf, else 1 for integers, else "any". */
  step: number | 'any';
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  schema: JsonSchema;
}

/** Strings longer than this get a text area even without a hint. */
const LONG_TEXT = 500;

/** The form for one node type, fields in schema order. */
export function buildFormModel(info: Pick<NodeTypeInfo, 'params' | 'paramUi'>): FormField[] {
  const required = new Set(info.params.required ?? []);
  return Object.entries(info.params.properties ?? {}).map(([key, schema]) =>
    buildField(key, schema, info.paramUi?.[key], required.has(key)),
  );
}

export function buildField(
  key: string,
  raw: JsonSchema,
  extraUi: ParamUiHint | undefined,
  requiredInSchema: boolean,
): FormField {
  const { schema, nullable } = unwrapNullable(raw);
  const ui: ParamUiHint = { ...extraUi, ...raw['x-ui'], ...schema['x-ui'] };
  const type = primaryType(schema);
  const integer = type === 'integer';
  const options = schema.enum?.map((value) => ({
    value: value as string | number | boolean,
    label: String(value),
  }));
  const widget = ui.widget ?? inferWidget(schema, type, !!options);
  const help = ui.help ?? raw.description ?? schema.description;
  return {
    key,
    label: ui.label ?? raw.title ?? humanize(key),
    widget,
    ...(help ? { help } : {}),
    advanced: ui.advanced ?? false,
    // A param with a default can always be left alone, whatever `required` says.
    required: requiredInSchema && raw.default === undefined,
    nullable,
    ...(raw.default !== undefined ? { default: raw.default } : {}),
    ...(options ? { options } : {}),
    integer,
    ...(schema.minimum !== undefined ? { min: schema.minimum } : {}),
    ...(schema.maximum !== undefined ? { max: schema.maximum } : {}),
    ...(schema.exclusiveMinimum !== undefined ? { exclusiveMin: schema.exclusiveMinimum } : {}),
    ...(schema.exclusiveMaximum !== undefined ? { exclusiveMax: schema.exclusiveMaximum } : {}),
    ...(schema.multipleOf !== undefined ? { multipleOf: schema.multipleOf } : {}),
    step: schema.multipleOf ?? (integer ? 1 : 'any'),
    ...(schema.minLength !== undefined ? { minLength: schema.minLength } : {}),
    ...(schema.maxLength !== undefined ? { maxLength: schema.maxLength } : {}),
    ...(schema.pattern !== undefined ? { pattern: schema.pattern } : {}),
    schema,
  };
}

/** One field of a template's values form, keyed `nodeId.param` as the API's `values` are. */
export interface ValueField {
  key: string;
  field: FormField;
  /** What the form starts with: the exposed default, else the value the template ships with. */
  initial: unknown;
}

/**
 * The field for an exposed param: the node param's own field (same widget, bounds and checks
 * as in the inspector) under the label and help the template author chose. Required: a
 * template value left empty would run with nothing where the graph expects something.
 */
export function buildValueField(
  entry: ExposedEntry,
  schema: JsonSchema,
  ui: ParamUiHint | undefined,
  shipped: unknown,
): ValueField {
  const key = `${entry.nodeId}.${entry.param}`;
  const base = buildField(key, schema, ui, true);
  const help = entry.help ?? base.help;
  const field: FormField = {
    ...base,
    label: entry.label,
    ...(help ? { help } : {}),
    required: true,
    ...(entry.default !== undefined ? { default: entry.default } : {}),
  };
  return { key, field, initial: entry.default !== undefined ? entry.default : shipped };
}

/** Every inline message of a values form by key; empty when everything may be sent. */
export function validateValues(
  fields: readonly ValueField[],
  values: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const messages: Record<string, string> = {};
  for (const { key, field } of fields) {
    const message = validateValue(field, values[key]);
    if (message !== null) messages[key] = message;
  }
  return messages;
}

/** `anyOf: [X, { type: 'null' }]` → X, nullable. */
function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    const rest = variants.filter((v) => v.type !== 'null');
    if (rest.length === 1 && rest.length < variants.length)
      return { schema: rest[0], nullable: true };
  }
  if (Array.isArray(schema.type) && schema.type.includes('null')) {
    const types = schema.type.filter((t) => t !== 'null');
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { schema, nullable: false };
}

function primaryType(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type[0];
  if (schema.type) return schema.type;
  if (schema.enum && schema.enum.length > 0) return typeof schema.enum[0];
  return undefined;
}

function inferWidget(
  schema: JsonSchema,
  type: string | undefined,
  hasOptions: boolean,
): FieldWidget {
  if (hasOptions) return 'select';
  if (type === 'boolean') return 'toggle';
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'string') return (schema.maxLength ?? 0) > LONG_TEXT ? 'textarea' : 'text';
  if (type === 'object' && isArtifactSchema(schema)) return 'image-upload';
  return 'json';
}

/** An ArtifactRef-shaped object schema (id + mime), edited by uploading a file. */
function isArtifactSchema(schema: JsonSchema): boolean {
  const props = schema.properties ?? {};
  return 'id' in props && 'mime' in props;
}

/** `shotDurationSec` → `Shot duration (s)`, `cfgScale` → `Cfg scale`. */
export function humanize(key: string): string {
  const unit = /Sec$/.test(key) ? ' (s)' : '';
  const words = key
    .replace(/Sec$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1) + unit;
}

/** The inline message for a value, or null when it is fine. */
export function validateValue(field: FormField, value: unknown): string | null {
  if (value === null) return field.nullable ? null : 'a value is required';
  if (value === undefined) return field.required ? 'a value is required' : null;
  if (field.options && !field.options.some((o) => o.value === value)) {
    return `pick one of ${field.options.map((o) => o.label).join(', ')}`;
  }
  switch (field.widget) {
    case 'number':
    case 'seed':
      return validateNumber(field, value);
    case 'text':
    case 'textarea':
    case 'character':
      return validateText(field, value);
    case 'toggle':
      return typeof value === 'boolean' ? null : 'must be on or off';
    default:
      return null;
  }
}

function validateNumber(field: FormField, value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'enter a number';
  if (field.integer && !Number.isInteger(value)) return 'enter a whole number';
  if (field.min !== undefined && value < field.min) return `must be at least ${field.min}`;
  if (field.max !== undefined && value > field.max) return `must be at most ${field.max}`;
  if (field.exclusiveMin !== undefined && value <= field.exclusiveMin) {
    return `must be more than ${field.exclusiveMin}`;
  }
  if (field.exclusiveMax !== undefined && value >= field.exclusiveMax) {
    return `must be less than ${field.exclusiveMax}`;
  }
  if (field.multipleOf !== undefined && !isMultiple(value, field.multipleOf)) {
    return `must be a multiple of ${field.multipleOf}`;
  }
  return null;
}

/** Float-safe: 0.3 is a multiple of 0.1. */
function isMultiple(value: number, of: number): boolean {
  const ratio = value / of;
  return Math.abs(ratio - Math.round(ratio)) < 1e-9;
}

function validateText(field: FormField, value: unknown): string | null {
  if (typeof value !== 'string') return 'enter text';
  if (field.minLength !== undefined && value.length < field.minLength) {
    return field.minLength === 1 ? 'cannot be empty' : `at least ${field.minLength} characters`;
  }
  if (field.maxLength !== undefined && value.length > field.maxLength) {
    return `at most ${field.maxLength} characters (now ${value.length})`;
  }
  if (field.pattern !== undefined && !new RegExp(field.pattern).test(value)) {
    return `does not match the expected format (${field.pattern})`;
  }
  return null;
}

/**
 * What a number box's text means: a number to store, or nothing yet (empty, "-", "1e").
 * Half-typed text is never stored, so the document only ever holds numbers.
 */
export function parseNumberText(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** A fresh seed inside the field's bounds (the dice button). */
export function randomSeed(field: FormField, random: () => number = Math.random): number {
  const min = Math.ceil(field.min ?? 0);
  const max = Math.floor(field.max ?? 2 ** 32 - 1);
  return min + Math.floor(random() * (max - min + 1));
}

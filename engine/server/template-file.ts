/**
 * The template file: what `GET /api/templates/:id/export` writes and `POST /api/templates/import`
 * reads. Like a graph document it names its schema and format version, loads through an
 * append-only list of named migrations, then a strict parse; the graph inside goes through the
 * graph schema's own migrations and validation, and the preview travels inline as base64 so
 * the file stands alone.
 *
 * Format version 1:
 * ```json
 * { "schema": "character-lab/template", "version": 1,
 *   "name": "…", "description": "…", "category": "…", "templateVersion": 3,
 *   "preview": { "mime": "video/mp4", "sha256": "…", "base64": "…" } | null,
 *   "graph": { …graph document, its `exposed` list is what the template asks for… } }
 * ```
 * Format version 0 is what a template was before template files existed: a bare graph
 * document, as shipped in workflows/*.json. Importing one still works.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { serializeGraph } from '../graph/canonical';
import type { GraphDocument } from '../graph/document';
import type { AppliedMigration } from '../graph/load';
import { GraphInvalid, type ValidationProblem } from '../graph/problems';
import type { GraphSchema } from '../graph/schema';
import { LabError } from '../errors';
import { sniffMedia } from './media-sniff';

export const TEMPLATE_FILE_SCHEMA_ID = 'character-lab/template';
export const TEMPLATE_FILE_VERSION = 1;
/** The oldest format version import still reads. */
export const OLDEST_TEMPLATE_FILE_VERSION = 0;

/** A preview inside a file; a whole final video fits, anything larger is refused. */
export const MAX_PREVIEW_BYTES = 40 * 1024 * 1024;

/** Categories are short labels for the library's filter, not prose. */
export const categorySchema = z.string().trim().min(1).max(60);
/** The category a template gets when none is given. */
export const DEFAULT_CATEGORY = 'General';

const previewFileSchema = z.strictObject({
  mime: z.string().min(1).max(100),
  sha256: z
    .string()
    .regex(/^[a-f0-9]{64}$/)
    .optional(),
  base64: z.string().max(Math.ceil(MAX_PREVIEW_BYTES / 3) * 4 + 4),
});

const templateFileSchema = z.strictObject({
  schema: z.literal(TEMPLATE_FILE_SCHEMA_ID),
  version: z.literal(TEMPLATE_FILE_VERSION),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5_000).default(''),
  category: categorySchema.default(DEFAULT_CATEGORY),
  templateVersion: z.number().int().min(1).default(1),
  preview: previewFileSchema.nullable().default(null),
  graph: z.unknown(),
});

/** A template file as read: graph loaded (current version) and preview bytes decoded. */
export interface TemplateFile {
  name: string;
  description: string;
  category: string;
  templateVersion: number;
  preview: { mime: string; bytes: Buffer } | null;
  graph: GraphDocument;
  /** The file's format version when it was older than the current one. */
  migratedFrom?: number;
  /** What ran on the way in: file migrations first, then the graph's. */
  migrations: AppliedMigration[];
}

/** A named, pure step from format version `to - 1` to `to`. */
export interface TemplateFileMigration {
  /** `NNNN-what-it-does`, where NNNN is `to`. */
  name: string;
  to: number;
  up(file: Record<string, unknown>): Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * 0 → 1: a bare graph document becomes the graph of a file, named and described by it, with
 * no preview. The graph itself is left as it is: its own migrations upgrade it afterwards.
 */
const wrapGraphDocument: TemplateFileMigration = {
  name: '0001-wrap-graph-document',
  to: 1,
  up(graph) {
    return {
      // Literals, not the constants: a shipped migration must not change when constants do.
      schema: 'character-lab/template',
      version: 1,
      name: typeof graph.name === 'string' && graph.name.trim() !== '' ? graph.name : 'Template',
      description: typeof graph.description === 'string' ? graph.description : '',
      category: 'General',
      templateVersion: 1,
      preview: null,
      graph,
    };
  },
};

/** Append-only: never edit a shipped migration, add the next one. */
export const TEMPLATE_FILE_MIGRATIONS: readonly TemplateFileMigration[] = [wrapGraphDocument];

function invalid(
  message: string,
  errors: ValidationProblem[] | { code: string; message: string }[],
) {
  return new LabError(
    'invalid_template',
    `${message}: export the template again from Character Lab, or fix the file`,
    400,
    { errors },
  );
}

/** The format version of parsed JSON: a template file's `version`, 0 for a bare graph document. */
function formatVersionOf(input: Json): number | undefined {
  if (input.schema === TEMPLATE_FILE_SCHEMA_ID) {
    return typeof input.version === 'number' && Number.isInteger(input.version)
      ? input.version
      : undefined;
  }
  // A graph document of any version (version 0 had no schema marker, only nodes).
  if (input.schema === 'character-lab/graph' || (input.schema === undefined && 'nodes' in input)) {
    return 0;
  }
  return undefined;
}

/**
 * Reads a template file of any supported format version (JSON text or parsed): migrations,
 * strict parse, graph load + validation, preview checks. Throws LabError `invalid_template`
 * (400) naming every problem; nothing here stores anything.
 */
export function readTemplateFile(input: unknown, graphSchema: GraphSchema): TemplateFile {
  let parsed = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input) as unknown;
    } catch {
      throw invalid('the template file is not JSON', [
        { code: 'invalid_json', message: 'the file is not valid JSON' },
      ]);
    }
  }
  if (!isObject(parsed)) {
    throw invalid('a template file is a JSON object', [
      { code: 'invalid_shape', message: `expected an object, got ${describe(parsed)}` },
    ]);
  }
  const from = formatVersionOf(parsed);
  if (from === undefined) {
    throw invalid(
      `this is not a Character Lab template file (its "schema" is ${JSON.stringify(parsed.schema)}, ` +
        `expected "${TEMPLATE_FILE_SCHEMA_ID}" with a whole-number "version")`,
      [{ code: 'unknown_schema', message: `schema ${JSON.stringify(parsed.schema)}` }],
    );
  }
  if (from > TEMPLATE_FILE_VERSION || from < OLDEST_TEMPLATE_FILE_VERSION) {
    throw invalid(
      `the template file has format version ${from}, but this build reads versions ` +
        `${OLDEST_TEMPLATE_FILE_VERSION} to ${TEMPLATE_FILE_VERSION} (upgrade Character Lab to import it)`,
      [{ code: 'unsupported_version', message: `format version ${from}` }],
    );
  }
  let current: Json = parsed;
  const migrations: AppliedMigration[] = [];
  for (const migration of TEMPLATE_FILE_MIGRATIONS.filter((m) => m.to > from)) {
    current = migration.up(current);
    migrations.push({ name: `template-file:${migration.name}` });
  }
  const shape = templateFileSchema.safeParse(current);
  if (!shape.success) {
    const errors = shape.error.issues.map((issue) => ({
      code: 'invalid_shape',
      message: `${issue.path.join('.') || 'file'}: ${issue.message}`,
    }));
    throw invalid(
      `the template file is malformed (${errors.map((e) => e.message).join('; ')})`,
      errors,
    );
  }
  const file = shape.data;
  let graph: GraphDocument;
  try {
    const prepared = graphSchema.prepare(file.graph);
    graph = prepared.graph;
    migrations.push(...prepared.migrations);
  } catch (error) {
    if (error instanceof GraphInvalid) {
      throw invalid(`the template's graph cannot run (${error.message})`, error.problems);
    }
    throw error;
  }
  return {
    name: file.name,
    description: file.description,
    category: file.category,
    templateVersion: file.templateVersion,
    preview: file.preview ? decodePreview(file.preview) : null,
    graph,
    ...(from < TEMPLATE_FILE_VERSION ? { migratedFrom: from } : {}),
    migrations,
  };
}

/** The preview's bytes, checked: real base64, the stated hash, an image or video by its bytes. */
function decodePreview(preview: z.infer<typeof previewFileSchema>): {
  mime: string;
  bytes: Buffer;
} {
  const clean = preview.base64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    throw invalid('the preview is not base64', [
      { code: 'invalid_preview', message: 'preview.base64 is not base64' },
    ]);
  }
  const bytes = Buffer.from(clean, 'base64');
  if (bytes.length === 0 || bytes.length > MAX_PREVIEW_BYTES) {
    throw invalid(`the preview must hold 1 byte to ${MAX_PREVIEW_BYTES / 1024 / 1024} MB`, [
      { code: 'invalid_preview', message: `preview is ${bytes.length} bytes` },
    ]);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (preview.sha256 !== undefined && preview.sha256 !== sha256) {
    throw invalid('the preview does not match its sha256 (the file was changed or cut short)', [
      { code: 'invalid_preview', message: `sha256 is ${sha256}, the file says ${preview.sha256}` },
    ]);
  }
  // The file's word for the type is never trusted, as with uploads: the bytes decide.
  const sniffed = sniffMedia(bytes);
  if (
    !sniffed ||
    !(sniffed.mime.startsWith('image/') || sniffed.mime.startsWith('video/')) ||
    sniffed.mime !== preview.mime
  ) {
    throw invalid(
      `the preview says ${preview.mime} but its bytes are ${sniffed?.mime ?? 'no accepted image or video'}`,
      [{ code: 'invalid_preview', message: 'preview bytes do not match an image or video type' }],
    );
  }
  return { mime: sniffed.mime, bytes };
}

/** Writes the current format with stable key order and 2-space JSON, so files diff cleanly. */
export function writeTemplateFile(
  file: Pick<
    TemplateFile,
    'name' | 'description' | 'category' | 'templateVersion' | 'preview' | 'graph'
  >,
): string {
  const ordered = {
    schema: TEMPLATE_FILE_SCHEMA_ID,
    version: TEMPLATE_FILE_VERSION,
    name: file.name,
    description: file.description,
    category: file.category,
    templateVersion: file.templateVersion,
    preview: file.preview
      ? {
          mime: file.preview.mime,
          sha256: createHash('sha256').update(file.preview.bytes).digest('hex'),
          base64: file.preview.bytes.toString('base64'),
        }
      : null,
    // The graph in its own save format (stable key order), parsed back to nest it.
    graph: JSON.parse(serializeGraph(file.graph)) as unknown,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

/**
 * Templates: a graph plus the params it asks for (its `exposed` list), with a name, category,
 * preview and version. Two kinds live side by side under one API:
 * - shipped: the graph documents in workflows/ at the repo root, read-only, id = file name;
 * - users' own: stored in the document store (`templates` holds the latest version of each,
 *   `template_versions` every version), owned by their author, id `tpl_…`.
 * The HTTP routes, `POST /api/runs { templateId }` and `charlab run --template` all go through
 * TemplateService, so values are checked the same way before anything runs or is stored.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExposedParam, GraphDocument } from '../graph/document';
import type { NodeDefinition } from '../graph/define-node';
import { nodeParamsJsonSchema } from '../graph/json-schema';
import type { GraphSchema } from '../graph/schema';
import { artifactRefSchema, type ArtifactRef } from '../graph/values';
import { LabError, notFound } from '../errors';
import { canRead, type Viewer } from '../auth/viewer';
import type { ArtifactService } from '../artifacts/artifact-service';
import type {
  DocumentStore,
  RunRecord,
  TemplatePreview,
  TemplateRecord,
  TemplateVersionRecord,
} from '../stores/ports';
import type { RunSnapshot } from '../runs/events';
import { DEFAULT_CATEGORY, readTemplateFile, writeTemplateFile } from './template-file';

export type TemplateSource = 'shipped' | 'mine' | 'shared';

/** One param a template asks for, with what a values form needs to render and check it. */
export interface ExposedField extends ExposedParam {
  /** `nodeId.param`: the key of `values`. */
  key: string;
  /** The value the template ships with (the node's param). */
  value: unknown;
  /** The param's JSON Schema, from the node type (as GET /api/node-types serves it). */
  schema: Record<string, unknown>;
}

export interface TemplateSummary {
  id: string;
  name: string;
  description: string;
  category: string;
  version: number;
  source: TemplateSource;
  /** The owning user (own and shared templates). */
  owner?: string;
  nodeCount: number;
  updatedAt?: string;
  preview: TemplatePreview | null;
  exposed: ExposedField[];
}

export interface Template extends TemplateSummary {
  graph: GraphDocument;
}

export interface TemplateVersionSummary {
  version: number;
  name: string;
  createdAt: string;
}

/** What a create or update is made from. */
export interface TemplateInput {
  /** A graph document in any form the graph schema loads; it must be valid (runnable). */
  graph: unknown;
  /** On create the graph's name by default, on update the current name. */
  name?: string;
  /** On create the graph's description by default, on update the current description. */
  description?: string;
  category?: string;
  /** undefined: keep the current preview (update) or none (create); null: remove it. */
  preview?: TemplatePreview | null;
}

export interface ListTemplatesQuery {
  /** Words that must all appear in the name, description or category (any case). */
  q?: string;
  category?: string;
  source?: TemplateSource;
}

/** Who reads a template: a user id (only their own), or a viewer (admins read every user's). */
export type TemplateReader = string | Viewer;

function mayRead(record: { ownerId: string }, reader: TemplateReader): boolean {
  return typeof reader === 'string' ? record.ownerId === reader : canRead(record, reader);
}

/** Where the shipped templates are: workflows/ at the repo root. */
export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../../workflows', import.meta.url));

/** Shipped template ids are file names; users' ids have a `tpl_` prefix, so they never clash. */
const SHIPPED_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;
/** The category shipped templates without `meta.category` are listed under. */
const SHIPPED_CATEGORY = 'Starter';
/** How often an update retries when another save of the same template lands first. */
const SAVE_ATTEMPTS = 5;
/** A library holds at most this many of one user's templates in one answer. */
const LIST_LIMIT = 500;

/**
 * The shipped templates: graph documents in one folder, each read through the graph schema
 * like any upload; a file that does not load or validate is left out and logged. The folder
 * is re-read when a file changes, so a new template shows up without a restart.
 */
export class TemplateCatalog {
  private cache: { stamp: string; templates: Map<string, Template> } | undefined;

  constructor(
    private readonly schema: GraphSchema,
    private readonly dir: string,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  async list(): Promise<Template[]> {
    return [...(await this.load()).values()];
  }

  async find(id: string): Promise<Template | undefined> {
    return SHIPPED_ID.test(id) ? (await this.load()).get(id) : undefined;
  }

  private async load(): Promise<Map<string, Template>> {
    const files = await this.files();
    const stamp = JSON.stringify(files);
    if (this.cache?.stamp === stamp) return this.cache.templates;
    const templates = new Map<string, Template>();
    for (const { name, mtimeMs } of files) {
      const id = name.slice(0, -'.json'.length);
      const template = await this.read(id, join(this.dir, name), new Date(mtimeMs).toISOString());
      if (template) templates.set(id, template);
    }
    this.cache = { stamp, templates };
    return templates;
  }

  private async files(): Promise<{ name: string; mtimeMs: number; size: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const files = [];
    for (const name of names.sort()) {
      if (!name.endsWith('.json') || !SHIPPED_ID.test(name.slice(0, -5))) continue;
      const info = await stat(join(this.dir, name));
      if (info.isFile()) files.push({ name, mtimeMs: info.mtimeMs, size: info.size });
    }
    return files;
  }

  private async read(id: string, path: string, updatedAt: string): Promise<Template | undefined> {
    const { errors, loaded } = this.schema.check(await readFile(path, 'utf8'));
    if (errors.length > 0 || !loaded) {
      this.warn(
        `template ${id} (${path}) is skipped: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
      );
      return undefined;
    }
    const { graph } = loaded;
    const category = graph.meta.category;
    return {
      id,
      name: graph.name,
      description: graph.description,
      category:
        typeof category === 'string' && category.trim() !== '' ? category : SHIPPED_CATEGORY,
      version: 1,
      source: 'shipped',
      nodeCount: graph.nodes.length,
      updatedAt,
      preview: null,
      exposed: exposedFields(this.schema, graph),
      graph,
    };
  }
}

/** Param JSON Schemas per node definition: a library lists many templates of few node types. */
const paramSchemas = new WeakMap<NodeDefinition, Record<string, Record<string, unknown>>>();

function paramSchemasOf(definition: NodeDefinition): Record<string, Record<string, unknown>> {
  let properties = paramSchemas.get(definition);
  if (!properties) {
    properties = (nodeParamsJsonSchema(definition).properties ?? {}) as Record<
      string,
      Record<string, unknown>
    >;
    paramSchemas.set(definition, properties);
  }
  return properties;
}

/** The exposed params of a graph with their key, shipped value and JSON Schema. */
export function exposedFields(schema: GraphSchema, graph: GraphDocument): ExposedField[] {
  return graph.exposed.map((entry) => {
    const node = graph.nodes.find((candidate) => candidate.id === entry.nodeId);
    const definition = node ? schema.definition(node.type) : undefined;
    const properties = definition ? paramSchemasOf(definition) : {};
    return {
      ...entry,
      key: `${entry.nodeId}.${entry.param}`,
      value: node?.params[entry.param],
      schema: properties[entry.param] ?? {},
    };
  });
}

export interface TemplateServiceDeps {
  graph: GraphSchema;
  documents: DocumentStore;
  artifacts: ArtifactService;
  catalog: TemplateCatalog;
  /** The latest snapshot of a run (stored events may be ahead of the record). */
  runSnapshot?: (runId: string) => Promise<RunSnapshot | null>;
}

/** Everything templates do, for the HTTP API, the run route and the embedded CLI alike. */
export class TemplateService {
  private readonly saving = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: TemplateServiceDeps) {}

  /** The shipped templates and the user's own, filtered; shipped first, then newest first. */
  async list(ownerId: string, query: ListTemplatesQuery = {}): Promise<TemplateSummary[]> {
    const wanted = (source: TemplateSource) => !query.source || query.source === source;
    const shipped = wanted('shipped') ? await this.deps.catalog.list() : [];
    // Sharing comes with accounts (LAB_AUTH): until then every template is its owner's own,
    // and `shared` lists nothing rather than someone else's work.
    const mine = wanted('mine')
      ? (
          await this.deps.documents.templates.list({
            where: { ownerId },
            orderByDesc: 'updatedAt',
            limit: LIST_LIMIT,
          })
        ).map((record) => this.fromRecord(record))
      : [];
    const words = (query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const category = query.category?.trim().toLowerCase();
    return [...shipped, ...mine]
      .filter((template) => {
        if (category && template.category.toLowerCase() !== category) return false;
        const text =
          `${template.name}\n${template.description}\n${template.category}`.toLowerCase();
        return words.every((word) => text.includes(word));
      })
      .map(summarize);
  }

  /**
   * A template (the given version, else the latest) with its graph; 404 when the reader may not
   * read it. A reader is a user id (their own templates) or a viewer (an admin reads anyone's).
   */
  async get(reader: TemplateReader, id: string, version?: number): Promise<Template> {
    const shipped = await this.deps.catalog.find(id);
    if (shipped) {
      if (version !== undefined && version !== shipped.version) throw versionNotFound(id, version);
      return shipped;
    }
    const head = await this.requireReadable(reader, id);
    if (version === undefined || version === head.version) return this.fromRecord(head);
    const record = await this.deps.documents.templateVersions.get(versionId(id, version));
    if (!record || !mayRead(record, reader)) throw versionNotFound(id, version);
    return this.fromRecord({ ...record, id, updatedAt: record.createdAt });
  }

  /** Every version of a template, newest first. */
  async versions(reader: TemplateReader, id: string): Promise<TemplateVersionSummary[]> {
    const shipped = await this.deps.catalog.find(id);
    if (shipped) return [{ version: 1, name: shipped.name, createdAt: shipped.updatedAt ?? '' }];
    await this.requireReadable(reader, id);
    const records = await this.deps.documents.templateVersions.list({
      where: { templateId: id },
      orderByDesc: 'createdAt',
    });
    return records
      .sort((a, b) => b.version - a.version)
      .map(({ version, name, createdAt }) => ({ version, name, createdAt }));
  }

  /** Saves a new template (version 1) owned by `ownerId`. */
  async create(ownerId: string, input: TemplateInput): Promise<Template> {
    const graph = this.requireRunnable(input.graph);
    const preview = input.preview ? await this.requirePreview(ownerId, input.preview) : null;
    const id = `tpl_${randomHex()}`;
    const now = new Date().toISOString();
    const record: TemplateVersionRecord = {
      id: versionId(id, 1),
      templateId: id,
      version: 1,
      ownerId,
      name: input.name ?? graph.name,
      description: input.description ?? graph.description,
      category: input.category ?? DEFAULT_CATEGORY,
      preview,
      graph: { ...graph, id },
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.deps.documents.templateVersions.create(record))) {
      throw new Error(`template id ${id} was generated twice`);
    }
    const head = headOf(record, now);
    await this.deps.documents.templates.put(head);
    return this.fromRecord(head);
  }

  /**
   * Saves the next version of one of the caller's templates; older versions stay readable.
   * Shipped templates are refused with 403 `template_read_only`.
   */
  async update(ownerId: string, id: string, input: TemplateInput): Promise<Template> {
    await this.requireWritable(ownerId, id);
    const graph = this.requireRunnable(input.graph);
    const preview =
      input.preview === undefined
        ? undefined
        : input.preview && (await this.requirePreview(ownerId, input.preview));
    return this.serialized(id, async () => {
      for (let attempt = 1; ; attempt += 1) {
        const head = await this.requireOwn(ownerId, id);
        const now = new Date().toISOString();
        const record: TemplateVersionRecord = {
          id: versionId(id, head.version + 1),
          templateId: id,
          version: head.version + 1,
          ownerId,
          name: input.name ?? head.name,
          description: input.description ?? head.description,
          category: input.category ?? head.category,
          preview: preview === undefined ? head.preview : preview,
          graph: { ...graph, id },
          createdAt: now,
          updatedAt: now,
        };
        // The create-only write decides between saves from other processes: one wins each
        // version number. A loser (or a save whose process died before moving the head)
        // brings the head up to the newest stored version and tries the next number.
        if (await this.deps.documents.templateVersions.create(record)) {
          const next = headOf(record, head.createdAt);
          await this.deps.documents.templates.put(next);
          return this.fromRecord(next);
        }
        await this.repairHead(head);
        if (attempt >= SAVE_ATTEMPTS) {
          throw new LabError(
            'template_conflict',
            `template ${id} keeps being saved elsewhere: reload it and save again`,
            409,
          );
        }
      }
    });
  }

  /** 403 `template_read_only` for a shipped template, 404 for one that is not the caller's. */
  async requireWritable(ownerId: string, id: string): Promise<void> {
    if (await this.deps.catalog.find(id)) throw readOnly(id);
    await this.requireOwn(ownerId, id);
  }

  /** Deletes one of the caller's templates and all its versions; shipped ones are read-only. */
  async delete(ownerId: string, id: string): Promise<void> {
    await this.requireWritable(ownerId, id);
    // The head goes first: a template half deleted by a crash is then already out of the
    // library, and its leftover versions are unreachable rather than a broken entry.
    await this.deps.documents.templates.delete(id);
    const versions = await this.deps.documents.templateVersions.list({ where: { templateId: id } });
    for (const version of versions) await this.deps.documents.templateVersions.delete(version.id);
  }

  /** The template file of a version (the latest by default), preview bytes included. */
  async exportFile(
    reader: TemplateReader,
    id: string,
    version?: number,
  ): Promise<{ name: string; text: string }> {
    const template = await this.get(reader, id, version);
    const preview = template.preview
      ? {
          mime: template.preview.mime,
          bytes: await this.deps.artifacts.read({ id: template.preview.artifactId }),
        }
      : null;
    const text = writeTemplateFile({
      name: template.name,
      description: template.description,
      category: template.category,
      templateVersion: template.version,
      preview,
      graph: template.graph,
    });
    return { name: template.name, text };
  }

  /**
   * Imports a template file of any supported format version as a new template of the caller's
   * (version 1: versions count saves here, the file's own version is history from elsewhere).
   */
  async importFile(
    ownerId: string,
    input: unknown,
  ): Promise<Template & { migratedFrom?: number; migrations: { name: string }[] }> {
    const file = readTemplateFile(input, this.deps.graph);
    const preview = file.preview
      ? await this.deps.artifacts.putBytes(file.preview.bytes, file.preview.mime, {}, ownerId)
      : null;
    const template = await this.create(ownerId, {
      graph: file.graph,
      name: file.name,
      description: file.description,
      category: file.category,
      preview: preview && { artifactId: preview.id, mime: preview.mime },
    });
    return {
      ...template,
      ...(file.migratedFrom === undefined ? {} : { migratedFrom: file.migratedFrom }),
      migrations: file.migrations,
    };
  }

  /**
   * The template's graph with `values` set, checked before anything runs or is stored:
   * a key the template does not expose is 400 `param_not_exposed`, a value its param's schema
   * refuses is 400 `invalid_param` (details name the keys). Exposed params given no value take
   * their `default` when the template has one. The graph records where it came from in
   * `meta.template`.
   */
  async prepare(
    ownerId: string,
    id: string,
    options: { values?: Record<string, unknown>; version?: number; name?: string } = {},
  ): Promise<{ template: Template; graph: GraphDocument }> {
    const template = await this.get(ownerId, id, options.version);
    const given = options.values ?? {};
    const allowed = template.exposed.map((field) => field.key);
    const notExposed = Object.keys(given).filter((key) => !allowed.includes(key));
    if (notExposed.length > 0) {
      throw new LabError(
        'param_not_exposed',
        `template "${template.id}" does not expose ${notExposed.map((k) => `"${k}"`).join(', ')}: ` +
          `it takes ${allowed.map((key) => `"${key}"`).join(', ') || 'no values'}; change other params after instantiating`,
        400,
        { notExposed, exposed: allowed },
      );
    }
    const values: Record<string, unknown> = {};
    for (const field of template.exposed) {
      if (Object.hasOwn(given, field.key)) values[field.key] = given[field.key];
      else if (field.default !== undefined) values[field.key] = field.default;
    }
    const applied = this.deps.graph.applyValues(template.graph, values);
    if (!applied.ok) {
      const keys = applied.errors.map((error) =>
        error.nodeId && error.param ? `${error.nodeId}.${error.param}` : undefined,
      );
      throw new LabError(
        'invalid_param',
        `${applied.errors.map((error) => error.message).join('; ')}`,
        400,
        { keys: keys.filter((key) => key !== undefined), errors: applied.errors },
      );
    }
    const graph: GraphDocument = {
      ...applied.graph,
      ...(options.name ? { name: options.name } : {}),
      meta: { ...applied.graph.meta, template: { id: template.id, version: template.version } },
    };
    // Valid values can still make an invalid graph (a param another check depends on).
    const { graph: prepared } = this.deps.graph.prepare(graph);
    return { template, graph: prepared };
  }

  /**
   * What a preview request names, as a stored preview: an artifact the owner can read, or a
   * run's final video (else its first frame).
   */
  async resolvePreview(
    ownerId: string,
    preview: { artifactId: string } | { runId: string },
  ): Promise<TemplatePreview> {
    if ('artifactId' in preview) return this.requirePreview(ownerId, preview);
    const run = await this.deps.documents.runs.get(preview.runId);
    if (!run || run.ownerId !== ownerId) throw notFound('run', preview.runId);
    const snapshot = (await this.deps.runSnapshot?.(run.id)) ?? run.snapshot;
    const ref = previewOfRun(run, snapshot);
    if (!ref) {
      throw new LabError(
        'invalid_preview',
        `run ${run.id} has no video or frame to show (status ${snapshot.status}): ` +
          'pick a run that made frames, or give an artifactId',
        400,
      );
    }
    return { artifactId: ref.id, mime: ref.mime };
  }

  private async requirePreview(
    ownerId: string,
    preview: { artifactId: string },
  ): Promise<TemplatePreview> {
    const record = await this.deps.artifacts.readableByOwner(preview.artifactId, ownerId);
    if (!record) throw notFound('artifact', preview.artifactId);
    if (!record.mime.startsWith('image/') && !record.mime.startsWith('video/')) {
      throw new LabError(
        'invalid_preview',
        `artifact ${record.id} is ${record.mime}: a preview is an image or a video`,
        400,
      );
    }
    return { artifactId: record.id, mime: record.mime };
  }

  /** Templates are for running: the graph must be valid, like runs and imports. */
  private requireRunnable(graph: unknown): GraphDocument {
    return this.deps.graph.prepare(graph).graph;
  }

  private async requireReadable(reader: TemplateReader, id: string): Promise<TemplateRecord> {
    const record = await this.deps.documents.templates.get(id);
    if (!record || !mayRead(record, reader)) throw notFound('template', id);
    return record;
  }

  private async requireOwn(ownerId: string, id: string): Promise<TemplateRecord> {
    const record = await this.deps.documents.templates.get(id);
    if (!record || record.ownerId !== ownerId) throw notFound('template', id);
    return record;
  }

  /** Moves a lagging head up to the newest stored version (see update). */
  private async repairHead(head: TemplateRecord): Promise<void> {
    const versions = await this.deps.documents.templateVersions.list({
      where: { templateId: head.id },
    });
    const newest = versions.reduce<TemplateVersionRecord | undefined>(
      (best, record) => (!best || record.version > best.version ? record : best),
      undefined,
    );
    if (newest && newest.version > head.version) {
      await this.deps.documents.templates.put(headOf(newest, head.createdAt));
    }
  }

  /** Saves of one template in this process queue up instead of racing each other. */
  private async serialized<T>(id: string, save: () => Promise<T>): Promise<T> {
    const previous = this.saving.get(id) ?? Promise.resolve();
    const next = previous.then(save);
    const settled = next.catch(() => {});
    this.saving.set(id, settled);
    try {
      return await next;
    } finally {
      if (this.saving.get(id) === settled) this.saving.delete(id);
    }
  }

  private fromRecord(record: TemplateRecord): Template {
    return {
      id: record.id,
      name: record.name,
      description: record.description,
      category: record.category,
      version: record.version,
      source: 'mine',
      owner: record.ownerId,
      nodeCount: record.graph.nodes.length,
      updatedAt: record.updatedAt,
      preview: record.preview,
      exposed: exposedFields(this.deps.graph, record.graph),
      graph: record.graph,
    };
  }
}

/**
 * A run's preview: its final video (the last node with a video output, as the CLI writes it),
 * else the first frame of the first image output.
 */
export function previewOfRun(
  run: Pick<RunRecord, 'graph'>,
  snapshot: RunSnapshot,
): ArtifactRef | undefined {
  const outputsOf = (nodeId: string) =>
    snapshot.outputs[nodeId] ?? snapshot.nodes[nodeId]?.outputs ?? {};
  const refs = (value: unknown): ArtifactRef[] =>
    (Array.isArray(value) ? value : [value]).flatMap((item) => {
      const ref = artifactRefSchema.safeParse(item);
      return ref.success ? [ref.data] : [];
    });
  for (const node of [...run.graph.nodes].reverse()) {
    for (const value of Object.values(outputsOf(node.id))) {
      const video = refs(value).find((ref) => ref.mime.startsWith('video/'));
      if (video) return video;
    }
  }
  for (const node of run.graph.nodes) {
    for (const value of Object.values(outputsOf(node.id))) {
      const frame = refs(value).find((ref) => ref.mime.startsWith('image/'));
      if (frame) return frame;
    }
  }
  return undefined;
}

function summarize({ graph: _graph, ...summary }: Template): TemplateSummary {
  return summary;
}

function versionId(templateId: string, version: number): string {
  return `${templateId}@${version}`;
}

function headOf(record: TemplateVersionRecord, createdAt: string): TemplateRecord {
  const { templateId, ...rest } = record;
  return { ...rest, id: templateId, createdAt, updatedAt: record.createdAt };
}

function randomHex(): string {
  return randomBytes(8).toString('hex');
}

function readOnly(id: string): LabError {
  return new LabError(
    'template_read_only',
    `template "${id}" ships with Character Lab and cannot be changed: save a copy as your own ` +
      'template (POST /api/templates with its graph) and change that',
    403,
  );
}

function versionNotFound(id: string, version: number): LabError {
  return new LabError(
    'template_version_not_found',
    `template "${id}" has no version ${version}: GET /api/templates/${id}/versions lists them`,
    404,
  );
}

/**
 * Templates are the graph documents shipped in workflows/ at the repo root. Each is read
 * through loadGraph + validateGraph like any upload; its id is the file name without `.json`.
 * The folder is re-read when a file changes, so a new template shows up without a restart.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExposedParam, GraphDocument } from '../graph/document';
import { notFound } from '../errors';
import type { GraphSchema } from '../graph/schema';

export interface TemplateSummary {
  id: string;
  name: string;
  description: string;
  nodeCount: number;
  /** The params the template asks for, with the value it ships with. */
  exposed: (ExposedParam & { key: string; value: unknown })[];
}

export interface Template extends TemplateSummary {
  graph: GraphDocument;
}

const TEMPLATE_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;

export class TemplateCatalog {
  private cache: { stamp: string; templates: Map<string, Template> } | undefined;

  constructor(
    private readonly schema: GraphSchema,
    private readonly dir: string,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  async list(): Promise<TemplateSummary[]> {
    return [...(await this.load()).values()].map(({ graph: _graph, ...summary }) => summary);
  }

  async get(id: string): Promise<Template> {
    const template = TEMPLATE_ID.test(id) ? (await this.load()).get(id) : undefined;
    if (!template) throw notFound('template', id);
    return template;
  }

  private async load(): Promise<Map<string, Template>> {
    const files = await this.files();
    const stamp = JSON.stringify(files);
    if (this.cache?.stamp === stamp) return this.cache.templates;
    const templates = new Map<string, Template>();
    for (const { name } of files) {
      const id = name.slice(0, -'.json'.length);
      const template = await this.read(id, join(this.dir, name));
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
      if (!name.endsWith('.json') || !TEMPLATE_ID.test(name.slice(0, -5))) continue;
      const info = await stat(join(this.dir, name));
      if (info.isFile()) files.push({ name, mtimeMs: info.mtimeMs, size: info.size });
    }
    return files;
  }

  /** A template that does not load or validate is left out and logged, never served half-broken. */
  private async read(id: string, path: string): Promise<Template | undefined> {
    const { errors, loaded } = this.schema.check(await readFile(path, 'utf8'));
    if (errors.length > 0 || !loaded) {
      this.warn(
        `template ${id} (${path}) is skipped: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
      );
      return undefined;
    }
    const { graph } = loaded;
    return {
      id,
      name: graph.name,
      description: graph.description,
      nodeCount: graph.nodes.length,
      exposed: graph.exposed.map((exposed) => ({
        ...exposed,
        key: `${exposed.nodeId}.${exposed.param}`,
        value: graph.nodes.find((node) => node.id === exposed.nodeId)?.params[exposed.param],
      })),
      graph,
    };
  }
}

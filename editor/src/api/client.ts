/**
 * Every HTTP call the studio makes, one function per route of DESIGN.md §6. Answers are
 * normalised here (ports as ordered arrays, runs flattened) so components never guess shapes.
 */
import { GRAPH_SCHEMA_ID } from '../../../engine/graph/document';
import type { RunSnapshot } from '../../../engine/runs/events';
import { isRecord, listFrom, problemsFromDetails, request } from './http';
import type {
  ArtifactRef,
  CharacterRecord,
  GraphDocument,
  GraphProblem,
  HealthInfo,
  JsonSchema,
  NodeTypeInfo,
  ParamUiHint,
  PortInfo,
  RunSummary,
  SimilarCharacter,
  TemplateExposed,
  TemplateInfo,
  TemplateSaveInput,
  TemplateSource,
  TemplateVersion,
  WorkflowRecord,
  WorkflowSummary,
} from './types';

/** What an import answered: the saved workflow and which migrations ran on the way. */
export interface ImportResult {
  workflow: WorkflowRecord;
  migratedFrom?: number;
  migrations: string[];
}

export type StartRunBody =
  | { workflowId: string; values?: Record<string, unknown> }
  | { graph: GraphDocument }
  | { templateId: string; version?: number; values: Record<string, unknown> };

/** `GET /api/templates` filters: free text, one category, one source. */
export interface TemplateFilter {
  q?: string;
  category?: string;
  source?: TemplateSource;
}

export interface CharacterInput {
  name: string;
  description: string;
  triggerWord: string;
  loraName: string;
  loraWeight: number | null;
}

export const api = {
  health: () => request<HealthInfo>('/api/health'),

  async nodeTypes(): Promise<NodeTypeInfo[]> {
    return listFrom<unknown>(await request<unknown>('/api/node-types')).map(normalizeNodeType);
  },

  async validate(graph: GraphDocument): Promise<{ ok: boolean; errors: GraphProblem[] }> {
    const body = await request<{ ok?: boolean; errors?: unknown }>('/api/graphs/validate', {
      method: 'POST',
      body: { graph },
    });
    const errors = problemsFromDetails(body);
    return { ok: body.ok ?? errors.length === 0, errors };
  },

  async listWorkflows(): Promise<WorkflowSummary[]> {
    return listFrom<WorkflowSummary>(await request<unknown>('/api/workflows')).map((item) => ({
      ...item,
      name: item.name ?? item.graph?.name ?? item.id,
      description: item.description ?? item.graph?.description,
      nodeCount: item.nodeCount ?? item.graph?.nodes.length,
    }));
  },

  async getWorkflow(id: string): Promise<WorkflowRecord> {
    return normalizeWorkflow(await request<unknown>(`/api/workflows/${encodeURIComponent(id)}`));
  },

  async createWorkflow(graph: GraphDocument): Promise<WorkflowRecord> {
    return normalizeWorkflow(
      await request<unknown>('/api/workflows', {
        method: 'POST',
        body: { name: graph.name, graph },
      }),
    );
  },

  /**
   * Saves from `revision` (the one last loaded or saved): a workflow changed elsewhere since is
   * refused with 409 `workflow_conflict`. Without a revision the save overwrites.
   */
  async saveWorkflow(id: string, graph: GraphDocument, revision?: number): Promise<WorkflowRecord> {
    return normalizeWorkflow(
      await request<unknown>(`/api/workflows/${encodeURIComponent(id)}`, {
        method: 'PUT',
        body: { name: graph.name, graph, ...(revision === undefined ? {} : { revision }) },
      }),
    );
  },

  deleteWorkflow: (id: string) =>
    request<void>(`/api/workflows/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  exportUrl: (id: string) => `/api/workflows/${encodeURIComponent(id)}/export`,

  /** Sends a document of any supported version; the server migrates, validates and saves it. */
  async importWorkflow(document: unknown): Promise<ImportResult> {
    const body = await request<unknown>('/api/workflows/import', {
      method: 'POST',
      body: document,
    });
    const record = isRecord(body) ? body : {};
    const migrations = Array.isArray(record.migrations)
      ? record.migrations.map((m) => (isRecord(m) ? String(m.name) : String(m)))
      : [];
    return {
      workflow: normalizeWorkflow(body),
      ...(typeof record.migratedFrom === 'number' ? { migratedFrom: record.migratedFrom } : {}),
      migrations,
    };
  },

  async listTemplates(filter: TemplateFilter = {}): Promise<TemplateInfo[]> {
    const query = new URLSearchParams();
    if (filter.q) query.set('q', filter.q);
    if (filter.category) query.set('category', filter.category);
    if (filter.source) query.set('source', filter.source);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return listFrom<Record<string, unknown>>(await request<unknown>(`/api/templates${suffix}`)).map(
      normalizeTemplate,
    );
  },

  /** One template with its graph (the list leaves graphs out); the latest version by default. */
  async getTemplate(id: string, version?: number): Promise<TemplateInfo> {
    const suffix = version === undefined ? '' : `?version=${version}`;
    const body = await request<unknown>(`/api/templates/${encodeURIComponent(id)}${suffix}`);
    return normalizeTemplate(isRecord(body) ? body : {});
  },

  async templateVersions(id: string): Promise<TemplateVersion[]> {
    return listFrom<TemplateVersion>(
      await request<unknown>(`/api/templates/${encodeURIComponent(id)}/versions`),
    );
  },

  /** Saves a workflow (by id, as stored) or a graph as a new template of mine: version 1. */
  async createTemplate(
    from: { workflowId: string } | { graph: GraphDocument },
    input: TemplateSaveInput,
  ): Promise<TemplateInfo> {
    const body = await request<unknown>('/api/templates', {
      method: 'POST',
      body: { ...from, ...input },
    });
    return normalizeTemplate(isRecord(body) ? body : {});
  },

  /** A new version of one of my templates; older versions stay readable and runnable. */
  async updateTemplate(
    id: string,
    from: { workflowId: string } | { graph: GraphDocument },
    input: TemplateSaveInput,
  ): Promise<TemplateInfo> {
    const body = await request<unknown>(`/api/templates/${encodeURIComponent(id)}`, {
      method: 'PUT',
      body: { ...from, ...input },
    });
    return normalizeTemplate(isRecord(body) ? body : {});
  },

  deleteTemplate: (id: string) =>
    request<void>(`/api/templates/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  templateExportUrl: (id: string, version?: number) =>
    `/api/templates/${encodeURIComponent(id)}/export${version === undefined ? '' : `?version=${version}`}`,

  /** Sends a template file of any supported format version; the server migrates and validates. */
  async importTemplate(file: unknown): Promise<TemplateInfo> {
    const body = await request<unknown>('/api/templates/import', { method: 'POST', body: file });
    return normalizeTemplate(isRecord(body) ? body : {});
  },

  async instantiateTemplate(
    id: string,
    values: Record<string, unknown>,
    version?: number,
  ): Promise<WorkflowRecord> {
    return normalizeWorkflow(
      await request<unknown>(`/api/templates/${encodeURIComponent(id)}/instantiate`, {
        method: 'POST',
        body: { values, ...(version === undefined ? {} : { version }) },
      }),
    );
  },

  startRun: (body: StartRunBody) =>
    request<{ runId: string }>('/api/runs', { method: 'POST', body }),

  async listRuns(filter: { workflowId?: string; limit?: number } = {}): Promise<RunSummary[]> {
    const query = new URLSearchParams();
    if (filter.workflowId) query.set('workflowId', filter.workflowId);
    if (filter.limit) query.set('limit', String(filter.limit));
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return listFrom<unknown>(await request<unknown>(`/api/runs${suffix}`))
      .map(normalizeRun)
      .filter((run): run is RunSummary => run !== null);
  },

  /** The graph a run started from, for "Re-run with changes" in any browser. */
  async getRunGraph(runId: string): Promise<GraphDocument> {
    return request<GraphDocument>(`/api/runs/${encodeURIComponent(runId)}/graph`);
  },

  async getRun(runId: string): Promise<RunSnapshot> {
    const body = await request<unknown>(`/api/runs/${encodeURIComponent(runId)}`);
    return snapshotFrom(body) ?? (body as RunSnapshot);
  },

  cancelRun: (runId: string) =>
    request<unknown>(`/api/runs/${encodeURIComponent(runId)}/cancel`, { method: 'POST', body: {} }),

  /** Cancels one node of a run: it ends cancelled, its descendants skipped, other branches go on. */
  cancelNode: (runId: string, nodeId: string) =>
    request<unknown>(
      `/api/runs/${encodeURIComponent(runId)}/nodes/${encodeURIComponent(nodeId)}/cancel`,
      { method: 'POST', body: {} },
    ),

  rerun: (
    runId: string,
    body: { fromNodeId?: string; params?: Record<string, Record<string, unknown>> },
  ) =>
    request<{ runId: string }>(`/api/runs/${encodeURIComponent(runId)}/rerun`, {
      method: 'POST',
      body,
    }),

  /** "Regenerate this shot": item `index` of `nodeId` gets a new seed; the rest is cached. */
  regenerate: (runId: string, body: { nodeId: string; index: number }) =>
    request<{ runId: string }>(`/api/runs/${encodeURIComponent(runId)}/regenerate`, {
      method: 'POST',
      body,
    }),

  async listCharacters(): Promise<CharacterRecord[]> {
    return listFrom<CharacterRecord>(await request<unknown>('/api/characters'));
  },

  async getCharacter(id: string): Promise<CharacterRecord> {
    return characterFrom(await request<unknown>(`/api/characters/${encodeURIComponent(id)}`));
  },

  /** Multipart, as DESIGN.md §6 fixes: the images travel with the fields. */
  async createCharacter(
    input: CharacterInput,
    images: File[],
    styleImages: File[] = [],
  ): Promise<CharacterRecord> {
    const form = new FormData();
    form.set('name', input.name);
    form.set('description', input.description);
    if (input.triggerWord) form.set('triggerWord', input.triggerWord);
    if (input.loraName) form.set('loraName', input.loraName);
    if (input.loraName && input.loraWeight !== null)
      form.set('loraWeight', String(input.loraWeight));
    for (const image of images) form.append('images[]', image, image.name);
    // Kept even with no face or several faces; never compared with frames.
    for (const image of styleImages) form.append('styleImages[]', image, image.name);
    return characterFrom(await request<unknown>('/api/characters', { method: 'POST', body: form }));
  },

  /** Edits fields and the reference list; new images are uploaded as artifacts first. */
  async updateCharacter(
    id: string,
    input: CharacterInput,
    referenceImages: (ArtifactRef & { role?: 'identity' | 'style' })[],
  ): Promise<CharacterRecord> {
    const body = {
      name: input.name,
      description: input.description,
      triggerWord: input.triggerWord === '' ? null : input.triggerWord,
      lora: input.loraName === '' ? null : { name: input.loraName, weight: input.loraWeight ?? 1 },
      referenceImages,
    };
    return characterFrom(
      await request<unknown>(`/api/characters/${encodeURIComponent(id)}`, { method: 'PUT', body }),
    );
  },

  deleteCharacter: (id: string) =>
    request<void>(`/api/characters/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  async similarCharacters(id: string, limit?: number): Promise<SimilarCharacter[]> {
    const body = await request<{ similar?: SimilarCharacter[] }>(
      `/api/characters/${encodeURIComponent(id)}/similar`,
      { method: 'POST', body: limit ? { limit } : {} },
    );
    return body.similar ?? [];
  },

  /** The characters whose face is nearest to the one face in `image`. */
  async searchCharactersByImage(image: File): Promise<SimilarCharacter[]> {
    const form = new FormData();
    form.set('image', image, image.name);
    const body = await request<{ similar?: SimilarCharacter[] }>('/api/characters/similar', {
      method: 'POST',
      body: form,
    });
    return body.similar ?? [];
  },

  async uploadArtifact(file: File): Promise<ArtifactRef> {
    const form = new FormData();
    form.set('file', file, file.name);
    const body = await request<unknown>('/api/artifacts', { method: 'POST', body: form });
    return (isRecord(body) && isRecord(body.artifact) ? body.artifact : body) as ArtifactRef;
  },

  artifactUrl: (id: string) => `/api/artifacts/${encodeURIComponent(id)}`,
};

/** The accent of a node type whose definition names no colour (an older server). */
export const NEUTRAL_NODE_COLOR = '#4b5563';

/** Only `#rrggbb` reaches a style attribute; anything else falls back to the neutral accent. */
const HEX_COLOR = /^#[0-9a-f]{6}$/i;

/** Turns one `/api/node-types` entry into NodeTypeInfo, whether ports come as a map or a list. */
export function normalizeNodeType(raw: unknown): NodeTypeInfo {
  const item = isRecord(raw) ? raw : {};
  const params = (
    isRecord(item.params) ? item.params : { type: 'object', properties: {} }
  ) as JsonSchema;
  const fanOut =
    isRecord(item.fanOut) && typeof item.fanOut.input === 'string'
      ? { input: item.fanOut.input }
      : undefined;
  return {
    type: String(item.type),
    typeVersion:
      typeof item.typeVersion === 'number' ? item.typeVersion : Number(item.version ?? 1),
    title: typeof item.title === 'string' ? item.title : String(item.type),
    category: typeof item.category === 'string' ? item.category : 'Other',
    color:
      typeof item.color === 'string' && HEX_COLOR.test(item.color)
        ? item.color
        : NEUTRAL_NODE_COLOR,
    description: typeof item.description === 'string' ? item.description : '',
    ...(Array.isArray(item.providers)
      ? { providers: item.providers.filter((p): p is string => typeof p === 'string') }
      : {}),
    inputs: normalizePorts(item.inputs),
    outputs: normalizePorts(item.outputs),
    params,
    ...(isRecord(item.paramUi) ? { paramUi: item.paramUi as Record<string, ParamUiHint> } : {}),
    ...(fanOut ? { fanOut } : {}),
  };
}

function normalizePorts(raw: unknown): (PortInfo & { id: string })[] {
  if (Array.isArray(raw)) {
    return raw
      .filter(isRecord)
      .map((port) => ({ ...(port as unknown as PortInfo), id: String(port.id) }));
  }
  if (isRecord(raw)) {
    return Object.entries(raw).map(([id, port]) => ({ ...(port as PortInfo), id }));
  }
  return [];
}

function isGraphDocument(value: unknown): value is GraphDocument {
  return isRecord(value) && value.schema === GRAPH_SCHEMA_ID && Array.isArray(value.nodes);
}

/** A workflow answer: the record, `{ workflow }`, or the bare graph document. */
export function normalizeWorkflow(body: unknown): WorkflowRecord {
  if (isRecord(body) && isRecord(body.workflow)) return normalizeWorkflow(body.workflow);
  if (isGraphDocument(body)) return { id: body.id, name: body.name, graph: body };
  if (isRecord(body) && isGraphDocument(body.graph)) {
    const graph = body.graph;
    return {
      ...(body as unknown as WorkflowRecord),
      id: typeof body.id === 'string' ? body.id : graph.id,
      name: typeof body.name === 'string' ? body.name : graph.name,
      graph,
    };
  }
  throw new TypeError('the server answered a workflow without a graph document');
}

/** A template answer (`TemplateSummary`, with `graph` for one template), or a bare graph. */
export function normalizeTemplate(item: Record<string, unknown>): TemplateInfo {
  const graph = isGraphDocument(item.graph)
    ? item.graph
    : isGraphDocument(item)
      ? (item as unknown as GraphDocument)
      : undefined;
  const listed: unknown[] = Array.isArray(item.exposed) ? item.exposed : (graph?.exposed ?? []);
  const exposed = listed.filter(isRecord).map((entry): TemplateExposed => ({
    ...(entry as unknown as TemplateExposed),
    key:
      typeof entry.key === 'string' ? entry.key : `${String(entry.nodeId)}.${String(entry.param)}`,
  }));
  const source = item.source === 'mine' || item.source === 'shared' ? item.source : 'shipped';
  const preview =
    isRecord(item.preview) && typeof item.preview.artifactId === 'string'
      ? { artifactId: item.preview.artifactId, mime: String(item.preview.mime ?? '') }
      : null;
  return {
    id: String(item.id ?? graph?.id),
    name: String(item.name ?? graph?.name ?? item.id),
    description: String(item.description ?? graph?.description ?? ''),
    category: typeof item.category === 'string' && item.category !== '' ? item.category : 'Other',
    version: typeof item.version === 'number' ? item.version : 1,
    source,
    ...(typeof item.owner === 'string' ? { owner: item.owner } : {}),
    ...(typeof item.nodeCount === 'number'
      ? { nodeCount: item.nodeCount }
      : graph
        ? { nodeCount: graph.nodes.length }
        : {}),
    ...(typeof item.updatedAt === 'string' ? { updatedAt: item.updatedAt } : {}),
    preview,
    ...(graph ? { graph } : {}),
    exposed,
  };
}

function snapshotFrom(body: unknown): RunSnapshot | null {
  if (!isRecord(body)) return null;
  if (isRecord(body.snapshot)) return body.snapshot as unknown as RunSnapshot;
  if (typeof body.runId === 'string' && isRecord(body.nodes)) return body as unknown as RunSnapshot;
  return null;
}

/** A run in a list: a stored record (with its snapshot) or an already flat summary. */
export function normalizeRun(raw: unknown): RunSummary | null {
  if (!isRecord(raw)) return null;
  const snapshot = snapshotFrom(raw);
  const id =
    typeof raw.id === 'string'
      ? raw.id
      : typeof raw.runId === 'string'
        ? raw.runId
        : snapshot?.runId;
  if (!id) return null;
  const status = (snapshot?.status ?? raw.status) as RunSummary['status'];
  const startedAt = snapshot?.startedAt ?? (raw.startedAt as string | undefined);
  const endedAt = snapshot?.endedAt ?? (raw.endedAt as string | undefined);
  const error = snapshot?.error ?? (raw.error as string | undefined);
  return {
    id,
    createdAt: String(raw.createdAt ?? startedAt ?? ''),
    status: status ?? 'queued',
    outputs: (snapshot?.outputs ?? raw.outputs ?? {}) as RunSummary['outputs'],
    ...(typeof raw.workflowId === 'string' ? { workflowId: raw.workflowId } : {}),
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    ...(typeof raw.parentRunId === 'string' ? { parentRunId: raw.parentRunId } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(endedAt ? { endedAt } : {}),
    ...(error ? { error } : {}),
    ...(isGraphDocument(raw.graph) ? { graph: raw.graph } : {}),
  };
}

function characterFrom(body: unknown): CharacterRecord {
  return (isRecord(body) && isRecord(body.character) ? body.character : body) as CharacterRecord;
}

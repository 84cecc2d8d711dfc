/**
 * Share links: a read-only link to one version of a workflow — a copy of its graph taken when
 * the link is made, a preview frame and, if the owner asks, its last finished video. The link
 * is a bearer secret (`clab_shr_<id>_<secret>`, engine/auth/secret-token.ts): only its sha256
 * is stored, it expires, and its owner (or an admin) can revoke it. Anyone holding it can look;
 * importing a copy makes a workflow for the importer in which every character or file they may
 * not read is a named placeholder (engine/graph/placeholders.ts), never a way to someone else's.
 */
import { canRead, PUBLIC_OWNER, type Viewer } from '../auth/viewer';
import { mintSecret, parseSecret, secretMatches } from '../auth/secret-token';
import { LabError } from '../errors';
import type { GraphDocument } from '../graph/document';
import {
  PLACEHOLDERS_META_KEY,
  referenceParams,
  referencedId,
  referencesOf,
  withPlaceholders,
  type ParamReference,
  type Placeholder,
} from '../graph/placeholders';
import { artifactRefSchema, type ArtifactRef } from '../graph/values';
import type { RunRecord, ShareRecord } from '../stores/ports';
import type { ServerContext } from './context';
import { previewOfRun } from './templates';

export const SHARE_DEFAULT_DAYS = 30;
export const SHARE_MAX_DAYS = 365;
const DAY_MS = 24 * 3600_000;
/** How many of a workflow's latest runs are searched for a finished one. */
const RUNS_SEARCHED = 50;
/**
 * `meta` keys a shared copy keeps. Anything else may point into the sharer's own library
 * (`template` names their template, which the importer's "save as template" would then try
 * to update) or be something a future feature stores for its owner only.
 */
const SHARED_META_KEYS = new Set(['createdWith', 'category', PLACEHOLDERS_META_KEY]);

/** A link as its owner lists it: never the token, never its hash. */
export interface ShareSummary {
  id: string;
  workflowId: string;
  revision: number;
  name: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  /** `active` until it expires or is revoked. */
  status: 'active' | 'expired' | 'revoked';
  hasVideo: boolean;
  hasPreview: boolean;
}

/** A shared artifact as the public page gets it: the ref and where to fetch its bytes. */
export type SharedArtifact = ArtifactRef & { url: string };

/** What `GET /api/shared/:token` answers. */
export interface SharedWorkflow {
  name: string;
  description: string;
  graph: GraphDocument;
  revision: number;
  /** The sharer's username, nothing else about them. */
  sharedBy: string;
  expiresAt: string;
  preview?: SharedArtifact;
  video?: SharedArtifact;
}

/** One reference an import had to clear, as the answer names it. */
export type ClearedReference = Placeholder & { id: string };

export interface NewShare {
  workflowId: string;
  expiresInDays: number;
  includeVideo: boolean;
}

export class ShareLinks {
  constructor(
    private readonly ctx: ServerContext,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Makes a link to the workflow as stored now. The caller has checked the viewer may read
   * the workflow; the link belongs to the viewer.
   */
  async create(
    viewer: Viewer,
    workflow: { id: string; ownerId: string; revision: number; name: string; graph: GraphDocument },
    input: NewShare,
  ): Promise<{ token: string; share: ShareRecord }> {
    const { id, token, secretHash } = mintSecret('shr');
    const finished = await this.lastSucceededRun(workflow.id, workflow.ownerId);
    const video = finished && this.finalVideo(finished);
    if (input.includeVideo && !video) {
      throw new LabError(
        'no_video_to_share',
        `workflow "${workflow.name}" has no finished run with a video yet: run it to the end first, or share it without the video`,
        409,
      );
    }
    const preview = finished && firstFrame(finished.run, finished.snapshot);
    const now = new Date(this.now());
    const share: ShareRecord = {
      id,
      secretHash,
      workflowId: workflow.id,
      revision: workflow.revision,
      name: workflow.name,
      graph: sharedCopy(workflow.graph, id),
      ...(input.includeVideo && video && (await this.readable(video, viewer)) ? { video } : {}),
      ...(preview && (await this.readable(preview, viewer)) ? { preview } : {}),
      ownerId: viewer.id,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + input.expiresInDays * DAY_MS).toISOString(),
    };
    await this.ctx.engine.documents.shares.put(share);
    return { token, share };
  }

  /** The viewer's links to a workflow (an admin sees everyone's), newest first. */
  async list(viewer: Viewer, workflowId: string): Promise<ShareSummary[]> {
    const shares = await this.ctx.engine.documents.shares.list({
      where: { workflowId },
      orderByDesc: 'createdAt',
      limit: 500,
    });
    return shares
      .filter((share) => viewer.role === 'admin' || share.ownerId === viewer.id)
      .map((share) => this.summarize(share));
  }

  /** Ends a link for good. Someone else's link is missing, like an unknown one. */
  async revoke(viewer: Viewer, id: string): Promise<ShareSummary> {
    const share = await this.ctx.engine.documents.shares.get(id);
    if (!share || (viewer.role !== 'admin' && share.ownerId !== viewer.id)) throw shareNotFound();
    if (share.revokedAt) return this.summarize(share);
    const now = new Date(this.now()).toISOString();
    const revoked: ShareRecord = { ...share, revokedAt: now, updatedAt: now };
    await this.ctx.engine.documents.shares.put(revoked);
    return this.summarize(revoked);
  }

  /**
   * The live share a token opens. Unknown, malformed, wrong secret, revoked and expired all
   * answer the same 404, so a token says nothing about why it stopped working.
   */
  async open(token: unknown): Promise<ShareRecord> {
    const parsed = parseSecret(token, 'shr');
    const share = parsed && (await this.ctx.engine.documents.shares.get(parsed.id));
    if (
      !parsed ||
      !share ||
      !secretMatches(parsed.secret, share.secretHash) ||
      this.statusOf(share) !== 'active'
    ) {
      throw shareNotFound();
    }
    return share;
  }

  /** What the public page shows. `artifactUrl` names where a shared artifact's bytes are. */
  async describe(
    share: ShareRecord,
    artifactUrl: (artifactId: string) => string,
  ): Promise<SharedWorkflow> {
    const withUrl = (ref: ArtifactRef): SharedArtifact => ({ ...ref, url: artifactUrl(ref.id) });
    return {
      name: share.name,
      description: share.graph.description,
      graph: share.graph,
      revision: share.revision,
      sharedBy: await this.usernameOf(share.ownerId),
      expiresAt: share.expiresAt,
      ...(share.preview ? { preview: withUrl(share.preview) } : {}),
      ...(share.video ? { video: withUrl(share.video) } : {}),
    };
  }

  /**
   * The importer's copy of a shared graph: every character or file the importer may not read
   * becomes a placeholder naming what it was (as far as the sharer could see it), and exposed
   * defaults pointing at such things are dropped. Returns the graph and what was cleared.
   */
  async importable(
    share: ShareRecord,
    graph: GraphDocument,
    importer: Viewer,
  ): Promise<{ graph: GraphDocument; cleared: ClearedReference[] }> {
    const registry = this.ctx.engine.graph.registry;
    const lost: (ParamReference & { name?: string })[] = [];
    for (const reference of referencesOf(graph, registry)) {
      if (await this.readableReference(reference, importer)) continue;
      const name = await this.nameForSharer(reference, share.ownerId);
      lost.push({ ...reference, ...(name ? { name } : {}) });
    }
    const exposed = [];
    for (const entry of graph.exposed) {
      const node = graph.nodes.find((candidate) => candidate.id === entry.nodeId);
      const definition = node && registry.get(node.type);
      const kind = definition
        ? referenceParams(definition).find((param) => param.param === entry.param)?.kind
        : undefined;
      const id = kind && referencedId(kind, entry.default);
      if (kind && id && !(await this.readableReference({ kind, id }, importer))) {
        const { default: _dropped, ...rest } = entry;
        exposed.push(rest);
      } else {
        exposed.push(entry);
      }
    }
    return {
      graph: withPlaceholders({ ...graph, exposed }, registry, lost),
      cleared: lost.map(({ nodeId, param, kind, id, name }) => ({
        nodeId,
        param,
        kind,
        id,
        ...(name ? { name } : {}),
      })),
    };
  }

  summarize(share: ShareRecord): ShareSummary {
    return {
      id: share.id,
      workflowId: share.workflowId,
      revision: share.revision,
      name: share.name,
      createdAt: share.createdAt,
      expiresAt: share.expiresAt,
      ...(share.revokedAt ? { revokedAt: share.revokedAt } : {}),
      status: this.statusOf(share),
      hasVideo: share.video !== undefined,
      hasPreview: share.preview !== undefined,
    };
  }

  private statusOf(share: ShareRecord): ShareSummary['status'] {
    if (share.revokedAt) return 'revoked';
    return Date.parse(share.expiresAt) > this.now() ? 'active' : 'expired';
  }

  private async usernameOf(userId: string): Promise<string> {
    if (!this.ctx.accounts) return userId;
    return (await this.ctx.accounts.getUser(userId))?.username ?? 'a former user';
  }

  private async readable(ref: Pick<ArtifactRef, 'id'>, viewer: Viewer): Promise<boolean> {
    return (await this.ctx.engine.artifacts.readableBy(ref.id, viewer)) !== null;
  }

  private async readableReference(
    reference: Pick<ParamReference, 'kind' | 'id'>,
    viewer: Viewer,
  ): Promise<boolean> {
    if (reference.kind === 'artifact') return this.readable(reference, viewer);
    const character = await this.ctx.engine.documents.characters.get(reference.id);
    return character !== null && canRead(character, viewer);
  }

  /**
   * What the sharer would call a lost reference: the character's name or the file's name, but
   * only for things the sharer may read themselves (as a plain user), so a graph naming a
   * stranger's character id reveals nothing about it.
   */
  private async nameForSharer(
    reference: ParamReference,
    sharerId: string,
  ): Promise<string | undefined> {
    if (reference.kind === 'artifact') {
      const record = await this.ctx.engine.artifacts.readableByOwner(reference.id, sharerId);
      return record?.filename;
    }
    const character = await this.ctx.engine.documents.characters.get(reference.id);
    return character && (character.ownerId === sharerId || character.ownerId === PUBLIC_OWNER)
      ? character.name
      : undefined;
  }

  private async lastSucceededRun(
    workflowId: string,
    ownerId: string,
  ): Promise<{ run: RunRecord; snapshot: RunRecord['snapshot'] } | undefined> {
    const runs = await this.ctx.engine.runs.list({ workflowId, ownerId, limit: RUNS_SEARCHED });
    for (const run of runs) {
      const snapshot = (await this.ctx.engine.runs.snapshot(run.id)) ?? run.snapshot;
      if (snapshot.status === 'succeeded') return { run, snapshot };
    }
    return undefined;
  }

  private finalVideo(finished: {
    run: RunRecord;
    snapshot: RunRecord['snapshot'];
  }): ArtifactRef | undefined {
    const ref = previewOfRun(finished.run, finished.snapshot);
    return ref?.mime.startsWith('video/') ? ref : undefined;
  }
}

/** The first image any node of the run made, in graph order: the share's preview picture. */
function firstFrame(run: RunRecord, snapshot: RunRecord['snapshot']): ArtifactRef | undefined {
  for (const node of run.graph.nodes) {
    const outputs = snapshot.outputs[node.id] ?? snapshot.nodes[node.id]?.outputs ?? {};
    for (const value of Object.values(outputs)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        const ref = artifactRefSchema.safeParse(item);
        if (ref.success && ref.data.mime.startsWith('image/')) return ref.data;
      }
    }
  }
  return undefined;
}

/**
 * The graph as the link shows it: the share's id instead of the sharer's workflow id, and only
 * the `meta` keys known to be safe. Graph documents never hold secrets (DESIGN §2; provider
 * keys live in the server's environment only), so params are copied as they are.
 */
function sharedCopy(graph: GraphDocument, shareId: string): GraphDocument {
  const meta = Object.fromEntries(
    Object.entries(graph.meta).filter(([key]) => SHARED_META_KEYS.has(key)),
  );
  return { ...graph, id: shareId, meta };
}

export function shareNotFound(): LabError {
  return new LabError(
    'share_not_found',
    'this share link does not exist, has expired or was revoked: ask its owner for a new one',
    404,
  );
}

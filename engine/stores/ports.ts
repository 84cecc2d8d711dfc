/**
 * The storage ports. Each has an embedded adapter (SQLite, files, in-process) and a service
 * adapter (MongoDB, S3/MinIO, Qdrant); one conformance suite per port runs against every
 * adapter that is available. Records are plain JSON; adapters never interpret `data`.
 */
import type { Readable } from 'node:stream';
import type { GraphDocument } from '../graph/document';
import type { ExecutionPlan } from '../graph/plan';
import type { RunEvent, RunEventInput, RunSnapshot } from '../runs/events';
import type { ArtifactRef, Character } from '../graph/values';
import type { CharacterIdentity } from '../faces/identity';
import type { MediaProbe } from '../media/media-probe';

export interface Owned {
  /**
   * The owning user's id: `local` when accounts are off, `public` for shipped things every user
   * may read (the demo character), else a user's id (engine/auth/viewer.ts).
   */
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

export interface WorkflowRecord extends Owned {
  id: string;
  name: string;
  graph: GraphDocument;
  /**
   * 1 on create, +1 on every save: what a client sends back so a stale save is refused (see
   * WorkflowCollection.putIfRevision). Records stored before revisions existed have none; the
   * adapters read a missing revision as 0.
   */
  revision: number;
}

export interface CharacterRecord extends Owned, Character {
  /** Bumped on every change, so caches keyed on a character see edits. */
  revision: number;
  /**
   * What face detection made of the reference images (engine/faces/identity.ts). Absent on
   * characters stored before identities existed: they are embedded on first use.
   */
  identity?: CharacterIdentity;
}

export interface RunRecord extends Owned {
  id: string;
  workflowId?: string;
  graph: GraphDocument;
  plan: ExecutionPlan;
  snapshot: RunSnapshot;
  /** The Temporal workflow id running it. */
  temporalWorkflowId: string;
  /** Set by a rerun: the run this one was derived from. */
  parentRunId?: string;
}

/** A template's preview picture or clip: an artifact its owner can read. */
export interface TemplatePreview {
  artifactId: string;
  mime: string;
}

/**
 * One saved version of a user's template. Versions are immutable: an update stores the next
 * version and older ones stay readable, so workflows made from them keep their source.
 */
export interface TemplateVersionRecord extends Owned {
  /** `<templateId>@<version>`. */
  id: string;
  templateId: string;
  version: number;
  name: string;
  description: string;
  category: string;
  preview: TemplatePreview | null;
  /** The graph, with its `exposed` list: what the template asks for. */
  graph: GraphDocument;
}

/** A user's template as listed: a copy of its latest version under the template's own id. */
export interface TemplateRecord extends Omit<TemplateVersionRecord, 'templateId'> {
  /** `tpl_…`. */
  id: string;
}

/** A collection with a create-only write: of several creates of one id exactly one wins. */
export interface CreateOnlyCollection<T extends { id: string }> extends Collection<T> {
  /** Stores the record unless one with its id exists; true when it was stored. */
  create(record: T): Promise<boolean>;
}

/** Template versions are create-only, so two saves can never both claim one version. */
export type TemplateVersionCollection = CreateOnlyCollection<TemplateVersionRecord>;

export type UserRole = 'admin' | 'member';

/** An account (LAB_AUTH=on). The id is `usr_<username>`, so a username is unique by creation. */
export interface UserRecord {
  id: string;
  username: string;
  role: UserRole;
  /** engine/auth/passwords.ts: `scrypt$N$r$p$salt$hash`. */
  passwordHash: string;
  /** A disabled user cannot sign in, and their sessions and tokens stop working. */
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** Bumped when the password changes or the user is disabled: older sessions end. */
  credentialsVersion: number;
}

/**
 * A signed-in browser. The cookie holds `<id>.<secret>`-style token (engine/auth/secret-token.ts);
 * only the secret's sha256 is stored, so a copy of the database signs no one in.
 */
export interface SessionRecord {
  id: string;
  userId: string;
  secretHash: string;
  /** The user's credentialsVersion when the session began. */
  credentialsVersion: number;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
}

/**
 * A personal API token (the CLI, scripts: acts as its user) or a worker token (a remote worker:
 * reports events only for runs Temporal dispatched to it). Shown once, stored as a hash.
 */
export interface ApiTokenRecord {
  id: string;
  kind: 'personal' | 'worker';
  /** The owner of a personal token; the admin who made a worker token. */
  userId: string;
  name: string;
  secretHash: string;
  createdAt: string;
  lastUsedAt?: string;
}

/** A one-time link that lets its holder create an account with the given role. */
export interface InviteRecord {
  id: string;
  secretHash: string;
  role: UserRole;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
}

/** A read-only link to one version of a workflow (and optionally its last run's video). */
export interface ShareRecord extends Owned {
  id: string;
  secretHash: string;
  workflowId: string;
  /** The workflow's revision when shared: the link shows this version, not later edits. */
  revision: number;
  name: string;
  graph: GraphDocument;
  /** The finished video offered with the link, if the owner chose to include it. */
  video?: ArtifactRef;
  /** A picture of the graph's first frame or the template preview, if any. */
  preview?: ArtifactRef;
  expiresAt: string;
  /** Set when the owner revokes the link; the record stays so the owner sees it ended. */
  revokedAt?: string;
}

/**
 * Artifacts are content-addressed, so two users storing the same bytes share one record whose
 * ownerId is the first of them; every other user who stored or produced those bytes gets a
 * grant (id `<ownerId>:<artifactId>`) and may read them too.
 */
export interface ArtifactGrantRecord {
  id: string;
  ownerId: string;
  artifactId: string;
  createdAt: string;
}

export interface ArtifactRecord extends ArtifactRef, Pick<Owned, 'ownerId' | 'createdAt'> {
  /** Original file name of an upload, for downloads. */
  filename?: string;
  /**
   * ffprobe's answer for these bytes, kept by whoever probed them first (the node that made
   * them, the upload route, or the first reader): see ArtifactService.knownProbe.
   */
  mediaProbe?: { version: number; probe: MediaProbe };
}

export interface CacheEntry {
  key: string;
  nodeType: string;
  outputs: Record<string, unknown>;
  createdAt: string;
}

/** A paid provider task (e.g. Runway) so a retried activity resumes instead of paying twice. */
export interface ExternalTaskRecord {
  id: string;
  provider: string;
  taskId: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

export interface ListOptions<T> {
  /** Equality on top-level fields. */
  where?: Partial<Pick<T, keyof T & string>>;
  /** Newest first by this string field (ISO dates sort). */
  orderByDesc?: keyof T & string;
  limit?: number;
}

export interface Collection<T extends { id: string }> {
  get(id: string): Promise<T | null>;
  list(options?: ListOptions<T>): Promise<T[]>;
  /** Insert or replace the whole record. */
  put(record: T): Promise<void>;
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>;
}

/** Workflows add a conditional save, so two editors of one workflow never overwrite each other. */
export interface WorkflowCollection extends Collection<WorkflowRecord> {
  /**
   * Replaces the stored workflow only if its revision is still `expectedRevision` (a stored
   * record without one counts as 0), atomically: of several saves from the same revision exactly
   * one wins. `record.revision` must be `expectedRevision + 1`. False when the record is missing
   * or another save got there first; nothing is written then.
   */
  putIfRevision(record: WorkflowRecord, expectedRevision: number): Promise<boolean>;
}

export interface EventLog {
  /**
   * Appends an event and gives it the run's next seq. Returns null when an event with the
   * same `key` was already stored (a redelivery): nothing is written.
   */
  append(event: RunEventInput): Promise<RunEvent | null>;
  /** Events with seq > sinceSeq, in seq order. */
  list(runId: string, sinceSeq?: number): Promise<RunEvent[]>;
}

export interface CacheStore {
  get(key: string): Promise<CacheEntry | null>;
  put(entry: CacheEntry): Promise<void>;
}

export interface DocumentStore {
  readonly kind: 'sqlite' | 'mongodb';
  workflows: WorkflowCollection;
  characters: Collection<CharacterRecord>;
  runs: Collection<RunRecord>;
  artifacts: Collection<ArtifactRecord>;
  /** Users' templates: the latest version of each (shipped ones are files in workflows/). */
  templates: Collection<TemplateRecord>;
  templateVersions: TemplateVersionCollection;
  externalTasks: Collection<ExternalTaskRecord>;
  users: CreateOnlyCollection<UserRecord>;
  sessions: Collection<SessionRecord>;
  apiTokens: Collection<ApiTokenRecord>;
  invites: Collection<InviteRecord>;
  shares: Collection<ShareRecord>;
  artifactGrants: Collection<ArtifactGrantRecord>;
  events: EventLog;
  cache: CacheStore;
  health(): Promise<boolean>;
  close(): Promise<void>;
}

export interface BlobStat {
  bytes: number;
  mime: string;
}

/** Content-addressed bytes: the key is the sha256 of the content. */
export interface BlobStore {
  readonly kind: 'files' | 's3';
  /** Stores bytes (idempotent: same bytes, same id) and returns their sha256 and size. */
  put(bytes: Buffer, mime: string): Promise<{ sha256: string; bytes: number }>;
  /** Streams a local file in (large videos), hashing as it goes. */
  putFile(path: string, mime: string): Promise<{ sha256: string; bytes: number }>;
  stat(sha256: string): Promise<BlobStat | null>;
  get(sha256: string): Promise<Buffer>;
  /** A byte range [start, end] inclusive, or everything. */
  stream(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  /** A local file path holding the bytes (the file itself, or a downloaded copy) for ffmpeg. */
  toLocalFile(sha256: string): Promise<string>;
  /**
   * An opaque token that changes whenever the stored bytes may have changed (a file's inode,
   * size, mtime and ctime; an object's ETag), or null when the blob is gone. Lets an integrity
   * check trust an earlier hash of the same bytes instead of reading them again.
   */
  fingerprint?(sha256: string): Promise<string | null>;
  /**
   * A time-limited URL that serves the bytes directly (S3 presigned GET), for stores that have
   * one; the API may redirect downloads to it instead of streaming them itself.
   */
  presignedGetUrl?(
    sha256: string,
    expirySec?: number,
    options?: { contentDisposition?: string },
  ): Promise<string>;
  health(): Promise<boolean>;
}

export interface VectorHit {
  id: string;
  score: number;
  payload: Record<string, unknown>;
}

export interface VectorStore {
  readonly kind: 'sqlite' | 'qdrant';
  upsert(
    collection: string,
    id: string,
    vector: number[],
    payload: Record<string, unknown>,
  ): Promise<void>;
  search(
    collection: string,
    vector: number[],
    limit: number,
    filter?: Record<string, string>,
  ): Promise<VectorHit[]>;
  delete(collection: string, id: string): Promise<void>;
  health(): Promise<boolean>;
}

/** The artifact a node's activity or an upload turns bytes into. */
export type { ArtifactRef };

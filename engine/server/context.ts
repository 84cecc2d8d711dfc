/**
 * What every route module gets: the engine, resolved options, the template catalog, the
 * redactor and logger, and small helpers for ids and owners.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AccountService } from '../auth/account-service';
import { canRead, canWrite, LOCAL_VIEWER, type Viewer } from '../auth/viewer';
import type { Engine } from '../engine-types';
import { LabError } from '../errors';
import type { MediaProbe } from '../media/media-probe';
import type { RateLimitOptions } from './rate-limit';
import type { Redactor } from './secrets';
import type { TemplateService } from './templates';

export type LogLevel = 'info' | 'warn' | 'error';
export type ServerLog = (level: LogLevel, message: string) => void;

/** What ffprobe tells the upload route about a video or audio file (kept on its record). */
export type MediaProber = (file: string) => Promise<MediaProbe>;

export interface ResolvedServerOptions {
  templatesDir: string;
  editorDir: string;
  /** JSON bodies; a graph document may be 1 MB, plus room for `{ graph, values }`. */
  bodyLimitBytes: number;
  /** One uploaded artifact (videos are large). */
  uploadLimitBytes: number;
  /** One character reference image. */
  imageLimitBytes: number;
  /** Images (and video frames) larger than this many pixels are refused. */
  maxImagePixels: number;
  maxImagesPerCharacter: number;
  rateLimit: RateLimitOptions | false;
  maxActiveRunsPerUser: number;
  /** `presigned`: downloads redirect to the blob store's presigned URL when it has one. */
  artifactRedirect: 'off' | 'presigned';
  probe: MediaProber | false;
  log: ServerLog;
}

export interface ServerContext {
  engine: Engine;
  /** Accounts, when LAB_AUTH=on; undefined for the single local user. */
  accounts?: AccountService;
  options: ResolvedServerOptions;
  templates: TemplateService;
  redact: Redactor;
  log: ServerLog;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook (server/auth.ts): who the request acts for, or null (signed out). */
    viewer: Viewer | null;
  }
}

/**
 * The user a request acts for. Routes that need one are only reached with one (the auth hook
 * answers 401 first), so a missing viewer here is a route that forgot to be marked public.
 */
export function viewerOf(request: FastifyRequest): Viewer {
  if (request.viewer === undefined) return LOCAL_VIEWER;
  if (request.viewer === null) {
    throw new LabError('unauthenticated', 'sign in first (or send an API token)', 401);
  }
  return request.viewer;
}

/** The id new records of a request are owned by. */
export function ownerOf(request: FastifyRequest): string {
  return viewerOf(request).id;
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;

/** A path id, checked before it reaches a store (no traversal, no oversized keys). */
export function requireId(params: unknown, name = 'id'): string {
  const value = (params as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new LabError(
      'invalid_id',
      `"${String(value).slice(0, 120)}" is not a valid ${name}: ids use 1-100 letters, digits and _ . : - only`,
      400,
    );
  }
  return value;
}

/** A fresh, unguessable id with a readable prefix (`wf_…`, `char_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

/**
 * Records are owned; one the viewer may not read is reported as missing, never as forbidden
 * (engine/auth/viewer.ts has the rule).
 */
export function visibleTo<T extends { ownerId: string }>(
  record: T | null,
  viewer: Viewer,
): T | null {
  return record && canRead(record, viewer) ? record : null;
}

/**
 * A record the viewer is about to change: missing when they cannot read it, 403 `read_only`
 * when they can read but not change it (a shipped record, for a member).
 */
export function writableBy<T extends { ownerId: string }>(
  record: T | null,
  viewer: Viewer,
  what: string,
): T | null {
  const visible = visibleTo(record, viewer);
  if (visible && !canWrite(visible, viewer)) {
    throw new LabError(
      'read_only',
      `this ${what} is shipped with Character Lab and cannot be changed: make a copy of it instead`,
      403,
    );
  }
  return visible;
}

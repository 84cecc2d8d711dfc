/**
 * What every route module gets: the engine, resolved options, the template catalog, the
 * redactor and logger, and small helpers for ids and owners.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Engine } from '../engine-types';
import { LabError } from '../errors';
import type { MediaInfo } from '../artifacts/artifact-service';
import type { RateLimitOptions } from './rate-limit';
import type { Redactor } from './secrets';
import type { TemplateService } from './templates';

export type LogLevel = 'info' | 'warn' | 'error';
export type ServerLog = (level: LogLevel, message: string) => void;

/** What ffprobe tells the upload route about a video or audio file. */
export type MediaProber = (
  file: string,
) => Promise<MediaInfo & { hasVideo?: boolean; hasAudio?: boolean }>;

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
  options: ResolvedServerOptions;
  templates: TemplateService;
  redact: Redactor;
  log: ServerLog;
}

/** The user a request acts for. Accounts (LAB_AUTH=on) are not built yet: one local user. */
export function ownerOf(_request: FastifyRequest): string {
  return 'local';
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

/** Records are owned; a record of another owner is reported as missing, never as forbidden. */
export function visibleTo<T extends { ownerId: string }>(
  record: T | null,
  ownerId: string,
): T | null {
  return record && record.ownerId === ownerId ? record : null;
}

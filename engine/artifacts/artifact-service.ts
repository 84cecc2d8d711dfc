/**
 * Turns bytes into ArtifactRefs: stores them in the blob store (content-addressed) and
 * records their metadata (mime, size, dimensions, duration) in the document store.
 *
 * Who may read an artifact: the same bytes stored by two users are one artifact, whose record
 * names the first of them as owner; every later user who stores (or whose run produces) those
 * bytes gets a grant, so both read them and neither learns anything of the other.
 */
import { canRead, LOCAL_VIEWER, type Viewer } from '../auth/viewer';
import type { ArtifactRef } from '../graph/values';
import type { MediaProbe } from '../media/media-probe';
import type { ArtifactRecord, BlobStore, DocumentStore } from '../stores/ports';

export interface MediaInfo {
  width?: number;
  height?: number;
  durationSec?: number;
  /**
   * What ffprobe said of these very bytes, when the caller probed them: kept on the record
   * (not the ref), so no later reader runs ffprobe on them again (see knownProbe).
   */
  probe?: MediaProbe;
}

/**
 * The shape of the probes kept on artifact records. Bump it when MediaProbe gains a field a
 * decision depends on (e.g. the merge's stream-copy check): older probes are then read as
 * missing, and the next reader probes the bytes again and keeps the new probe.
 */
export const KEPT_PROBE_VERSION = 1;

export class ArtifactService {
  constructor(
    private readonly blobs: BlobStore,
    private readonly documents: DocumentStore,
    /** Who stores bytes when a caller names no owner (see forOwner). */
    private readonly defaultOwner: string = LOCAL_VIEWER.id,
  ) {}

  /**
   * This service storing for `ownerId` unless told otherwise: what a run's activities get, so
   * everything a run makes belongs to the run's owner without each node passing it on.
   */
  forOwner(ownerId: string): ArtifactService {
    return new ArtifactService(this.blobs, this.documents, ownerId);
  }

  /** Stores bytes; the same bytes always give the same ref. */
  async putBytes(
    bytes: Buffer,
    mime: string,
    info: MediaInfo = {},
    ownerId = this.defaultOwner,
    filename?: string,
  ): Promise<ArtifactRef> {
    const stored = await this.blobs.put(bytes, mime);
    return this.record(stored, mime, info, ownerId, filename);
  }

  /** Stores a local file (streamed, for large videos). */
  async putFile(
    path: string,
    mime: string,
    info: MediaInfo = {},
    ownerId = this.defaultOwner,
  ): Promise<ArtifactRef> {
    const stored = await this.blobs.putFile(path, mime);
    return this.record(stored, mime, info, ownerId);
  }

  async get(id: string): Promise<ArtifactRecord | null> {
    return this.documents.artifacts.get(id);
  }

  /** The artifact's record if the viewer may read it (owner, grant, admin, shipped), else null. */
  async readableBy(id: string, viewer: Viewer): Promise<ArtifactRecord | null> {
    const record = await this.documents.artifacts.get(id);
    if (!record) return null;
    if (canRead(record, viewer)) return record;
    return (await this.documents.artifactGrants.get(grantId(viewer.id, id))) ? record : null;
  }

  /** As readableBy for a plain user `ownerId` (no admin rights): what a run of theirs may use. */
  async readableByOwner(id: string, ownerId: string): Promise<ArtifactRecord | null> {
    return this.readableBy(id, { id: ownerId, username: ownerId, role: 'member', via: 'token' });
  }

  /**
   * Lets `ownerId` read artifacts it did not store first: a run's outputs answered from the
   * cache, or bytes another user happened to store before. Idempotent.
   */
  async grant(refs: readonly Pick<ArtifactRef, 'id'>[], ownerId: string): Promise<void> {
    for (const ref of refs) {
      const record = await this.documents.artifacts.get(ref.id);
      if (record && record.ownerId !== ownerId) await this.putGrant(ownerId, ref.id);
    }
  }

  /** Stores `ownerId`'s grant on an artifact someone else stored first, once. */
  private async putGrant(ownerId: string, artifactId: string): Promise<void> {
    const id = grantId(ownerId, artifactId);
    if (await this.documents.artifactGrants.get(id)) return;
    await this.documents.artifactGrants.put({
      id,
      ownerId,
      artifactId,
      createdAt: new Date().toISOString(),
    });
  }

  /** A local path to the artifact's bytes, for tools like ffmpeg. */
  async toLocalFile(ref: Pick<ArtifactRef, 'id'>): Promise<string> {
    return this.blobs.toLocalFile(ref.id);
  }

  async read(ref: Pick<ArtifactRef, 'id'>): Promise<Buffer> {
    return this.blobs.get(ref.id);
  }

  /**
   * The probe kept for the artifact, if any. An artifact id is the sha256 of its bytes, which
   * never change, so a probe taken once holds for the artifact's whole life: ffprobe costs
   * about 0.16 s of process start-up per file, more than a stream-copy merge of ten clips.
   */
  async knownProbe(ref: Pick<ArtifactRef, 'id'>): Promise<MediaProbe | undefined> {
    const kept = (await this.documents.artifacts.get(ref.id))?.mediaProbe;
    return kept?.version === KEPT_PROBE_VERSION ? kept.probe : undefined;
  }

  /** Keeps a probe of the artifact's bytes (taken by our own ffprobe) for later readers. */
  async keepProbe(ref: Pick<ArtifactRef, 'id'>, probe: MediaProbe): Promise<void> {
    const record = await this.documents.artifacts.get(ref.id);
    if (!record || record.mediaProbe?.version === KEPT_PROBE_VERSION) return;
    await this.documents.artifacts.put({ ...record, mediaProbe: keptProbe(probe) });
  }

  private async record(
    stored: { sha256: string; bytes: number },
    mime: string,
    info: MediaInfo,
    ownerId: string,
    filename?: string,
  ): Promise<ArtifactRef> {
    const { probe, ...sizes } = info;
    const ref: ArtifactRef = {
      id: stored.sha256,
      mime,
      bytes: stored.bytes,
      sha256: stored.sha256,
      ...definedOnly(sizes),
    };
    const existing = await this.documents.artifacts.get(ref.id);
    if (!existing) {
      await this.documents.artifacts.put({
        ...ref,
        ownerId,
        createdAt: new Date().toISOString(),
        ...(filename ? { filename } : {}),
        ...(probe ? { mediaProbe: keptProbe(probe) } : {}),
      });
      return ref;
    }
    if (existing.ownerId !== ownerId) await this.putGrant(ownerId, ref.id);
    if (probe && existing.mediaProbe?.version !== KEPT_PROBE_VERSION) {
      await this.documents.artifacts.put({ ...existing, mediaProbe: keptProbe(probe) });
    }
    return ref;
  }
}

function definedOnly<T extends object>(info: T): T {
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as T;
}

function keptProbe(probe: MediaProbe): NonNullable<ArtifactRecord['mediaProbe']> {
  return { version: KEPT_PROBE_VERSION, probe };
}

function grantId(ownerId: string, artifactId: string): string {
  return `${ownerId}:${artifactId}`;
}

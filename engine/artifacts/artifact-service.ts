/**
 * Turns bytes into ArtifactRefs: stores them in the blob store (content-addressed) and
 * records their metadata (mime, size, dimensions, duration) in the document store.
 */
import type { ArtifactRef } from '../graph/values';
import type { ArtifactRecord, BlobStore, DocumentStore } from '../stores/ports';

export interface MediaInfo {
  width?: number;
  height?: number;
  durationSec?: number;
}

export class ArtifactService {
  constructor(
    private readonly blobs: BlobStore,
    private readonly documents: DocumentStore,
  ) {}

  /** Stores bytes; the same bytes always give the same ref. */
  async putBytes(
    bytes: Buffer,
    mime: string,
    info: MediaInfo = {},
    ownerId = 'local',
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
    ownerId = 'local',
  ): Promise<ArtifactRef> {
    const stored = await this.blobs.putFile(path, mime);
    return this.record(stored, mime, info, ownerId);
  }

  async get(id: string): Promise<ArtifactRecord | null> {
    return this.documents.artifacts.get(id);
  }

  /** A local path to the artifact's bytes, for tools like ffmpeg. */
  async toLocalFile(ref: Pick<ArtifactRef, 'id'>): Promise<string> {
    return this.blobs.toLocalFile(ref.id);
  }

  async read(ref: Pick<ArtifactRef, 'id'>): Promise<Buffer> {
    return this.blobs.get(ref.id);
  }

  private async record(
    stored: { sha256: string; bytes: number },
    mime: string,
    info: MediaInfo,
    ownerId: string,
    filename?: string,
  ): Promise<ArtifactRef> {
    const ref: ArtifactRef = {
      id: stored.sha256,
      mime,
      bytes: stored.bytes,
      sha256: stored.sha256,
      ...definedOnly(info),
    };
    const existing = await this.documents.artifacts.get(ref.id);
    if (!existing) {
      await this.documents.artifacts.put({
        ...ref,
        ownerId,
        createdAt: new Date().toISOString(),
        ...(filename ? { filename } : {}),
      });
    }
    return ref;
  }
}

function definedOnly(info: MediaInfo): MediaInfo {
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as MediaInfo;
}

/**
 * Computes, stores and finds characters' identities (identity.ts). Used by the API (create,
 * update, delete, similar search) and by the worker (`ctx.identity`, lazily for characters stored
 * before identities existed).
 *
 * Where things live:
 * - the summary (version, model, mean, threshold, per-image answers) on the character document,
 *   so the studio and the gate read it with the character;
 * - one descriptor per identity reference in the vector collection `character-refs-<model>`
 *   (id `<characterId>/<artifactId>`) and the mean in `character-means-<model>` (id = the
 *   character id), payload `{ characterId, ownerId, version }`: a collection per embedding model,
 *   so descriptors of two models are never compared. The Qdrant adapter turns these string ids
 *   into UUIDv5 point ids itself;
 * - each image's detection result in the document cache under `face-detect:<model>:<sha256>`:
 *   artifacts are content-addressed, so the answer for given bytes never changes, and a PUT that
 *   keeps an image (or another character using the same photo) costs no second detection.
 *
 * Face detection is tfjs on WebAssembly on the process's face thread (face-thread.ts), so the
 * API keeps answering meanwhile; detections run one at a time per process so a burst of uploads
 * queues instead of holding many decoded images in memory.
 */
import { LabError } from '../errors';
import type { Character } from '../graph/values';
import type { BlobStore, CharacterRecord, DocumentStore, VectorStore } from '../stores/ports';
import { faceDistance, FACE_EMBEDDING_MODEL, meanDescriptor } from './face-embedder';
import { detectFacesOffThread } from './face-thread';
import {
  calibrateThreshold,
  hasIdentityFace,
  identityIsCurrent,
  type CharacterIdentity,
  type ReferenceFace,
  type ReferenceFaceStatus,
} from './identity';

/** A face smaller than this share of the largest face's width is a background face, not a subject. */
const BACKGROUND_FACE_RATIO = 1 / 3;

/** What detection found in one image: the prominent faces and the descriptor when there is one. */
export interface ImageFaces {
  status: ReferenceFaceStatus;
  faces: number;
  /** Set when status is `face`. */
  descriptor?: Float32Array;
}

/** The face model behind the service; tests may pass the real one with other options. */
export interface FaceDetector {
  readonly model: string;
  detect(image: Buffer): Promise<ImageFaces>;
}

/** The face-api detector (engine/faces/face-embedder.ts) with the configured ffmpeg. */
export function faceApiDetector(options: { ffmpegPath?: string } = {}): FaceDetector {
  return {
    model: FACE_EMBEDDING_MODEL,
    async detect(image) {
      let detections;
      try {
        detections = await detectFacesOffThread(
          image,
          options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {},
        );
      } catch (error) {
        if (error instanceof LabError && error.code === 'image_undecodable') {
          return { status: 'unreadable', faces: 0 };
        }
        throw error;
      }
      const largest = detections.faces[0];
      if (!largest) return { status: 'no-face', faces: 0 };
      const prominent = detections.faces.filter(
        (face) => face.box.width >= largest.box.width * BACKGROUND_FACE_RATIO,
      );
      return prominent.length === 1
        ? { status: 'face', faces: 1, descriptor: largest.descriptor }
        : { status: 'several-faces', faces: prominent.length };
    },
  };
}

/** A reference image and the role its owner asked for (`undefined`: keep it, or `identity`). */
export interface ReferenceRequest {
  id: string;
  role?: 'identity' | 'style';
  /** The bytes of an upload that is not stored yet. */
  bytes?: Buffer;
}

/** One nearest character: its distance to the query face and whether it passes its threshold. */
export interface SimilarCharacter {
  id: string;
  name: string;
  distance: number;
  /** The candidate's own pass threshold. */
  threshold: number;
  /** True when `distance <= threshold`: the candidate's consistency gate would accept this face. */
  looksAlike: boolean;
  /** The candidate's first identity reference image (for a thumbnail). */
  imageId?: string;
}

export interface IdentityServiceDeps {
  documents: Pick<DocumentStore, 'characters' | 'cache'>;
  vectors: VectorStore;
  blobs: Pick<BlobStore, 'get'>;
  detector?: FaceDetector;
  ffmpegPath?: string;
}

/** Candidates read from the vector port per requested result, before exact re-ranking. */
const CANDIDATE_FACTOR = 4;
const MAX_SIMILAR = 50;
let detectionQueue: Promise<unknown> = Promise.resolve();

export class IdentityService {
  readonly model: string;
  private readonly detector: FaceDetector;
  /** Identities being computed for a character, so concurrent callers share one computation. */
  private readonly inFlight = new Map<string, Promise<CharacterIdentity>>();

  constructor(private readonly deps: IdentityServiceDeps) {
    this.detector =
      deps.detector ?? faceApiDetector(deps.ffmpegPath ? { ffmpegPath: deps.ffmpegPath } : {});
    this.model = this.detector.model;
  }

  get meansCollection(): string {
    return `character-means-${this.model}`;
  }

  get referencesCollection(): string {
    return `character-refs-${this.model}`;
  }

  /**
   * Detects the faces in one image by artifact id (its sha256), from the cache when these bytes
   * were seen before. `bytes` are the image's content when it is not stored yet (an upload being
   * checked before anything is kept); otherwise they are read from the blob store.
   */
  async detect(artifactId: string, bytes?: Buffer): Promise<ImageFaces> {
    const key = `face-detect:${this.model}:${artifactId}`;
    const hit = await this.deps.documents.cache.get(key);
    if (hit) {
      const stored = hit.outputs as {
        status: ReferenceFaceStatus;
        faces: number;
        descriptor?: number[];
      };
      return {
        status: stored.status,
        faces: stored.faces,
        ...(stored.descriptor ? { descriptor: Float32Array.from(stored.descriptor) } : {}),
      };
    }
    const result = await this.detectBytes(bytes ?? (await this.deps.blobs.get(artifactId)));
    await this.deps.documents.cache.put({
      key,
      nodeType: 'face-detect',
      outputs: {
        status: result.status,
        faces: result.faces,
        ...(result.descriptor ? { descriptor: Array.from(result.descriptor) } : {}),
      },
      createdAt: new Date().toISOString(),
    });
    return result;
  }

  /** Detects the faces in bytes that are not stored (a search by image); one at a time. */
  detectBytes(bytes: Buffer): Promise<ImageFaces> {
    const next = detectionQueue.then(() => this.detector.detect(bytes));
    detectionQueue = next.catch(() => undefined);
    return next;
  }

  /**
   * The identity of `referenceImages` with the asked roles. An image asked to be an identity
   * reference that does not show exactly one face becomes a `style` reference; callers that must
   * refuse that instead (the API) compare `references[i].role` with what they asked for.
   * `previous` supplies the roles of images the request does not mention and the version.
   */
  async compute(
    referenceImages: readonly ReferenceRequest[],
    previous?: CharacterIdentity | null,
  ): Promise<CharacterIdentity> {
    const references: ReferenceFace[] = [];
    const descriptors: Float32Array[] = [];
    for (const request of referenceImages) {
      const found = await this.detect(request.id, request.bytes);
      const asked =
        request.role ??
        previous?.references.find((ref) => ref.artifactId === request.id)?.role ??
        'identity';
      const role = asked === 'identity' && found.status === 'face' ? 'identity' : 'style';
      if (role === 'identity' && found.descriptor) descriptors.push(found.descriptor);
      references.push({ artifactId: request.id, status: found.status, faces: found.faces, role });
    }
    const mean = descriptors.length > 0 ? Array.from(meanDescriptor(descriptors)) : [];
    const threshold = descriptors.length > 0 ? calibrateThreshold(descriptors) : 0;
    const unchanged =
      previous &&
      previous.model === this.model &&
      previous.references.length === references.length &&
      previous.references.every(
        (ref, i) => ref.artifactId === references[i].artifactId && ref.role === references[i].role,
      );
    const version = unchanged ? previous.version : (previous?.version ?? 0) + 1;
    return { version, model: this.model, mean, threshold, references };
  }

  /**
   * Writes the identity's descriptors to the vector port (and removes the ones `previous` had
   * that it no longer has). Call before saving the document that carries `identity`.
   */
  async index(
    record: Pick<CharacterRecord, 'id' | 'ownerId'>,
    identity: CharacterIdentity,
    previous?: CharacterIdentity | null,
  ): Promise<void> {
    const { vectors } = this.deps;
    const payload = { characterId: record.id, ownerId: record.ownerId, version: identity.version };
    const kept = new Set<string>();
    for (const ref of identity.references) {
      if (ref.role !== 'identity') continue;
      const found = await this.detect(ref.artifactId);
      if (!found.descriptor) continue;
      kept.add(ref.artifactId);
      await vectors.upsert(
        this.referencesCollection,
        `${record.id}/${ref.artifactId}`,
        Array.from(found.descriptor),
        { ...payload, artifactId: ref.artifactId },
      );
    }
    if (previous && previous.model === this.model) {
      for (const ref of previous.references) {
        if (ref.role === 'identity' && !kept.has(ref.artifactId)) {
          await vectors.delete(this.referencesCollection, `${record.id}/${ref.artifactId}`);
        }
      }
    }
    if (hasIdentityFace(identity)) {
      await vectors.upsert(this.meansCollection, record.id, identity.mean, payload);
    } else {
      await vectors.delete(this.meansCollection, record.id);
    }
  }

  /** Removes a deleted character's descriptors from the vector port. */
  async unindex(record: Pick<CharacterRecord, 'id' | 'identity'>): Promise<void> {
    const { vectors } = this.deps;
    for (const ref of record.identity?.references ?? []) {
      if (ref.role === 'identity') {
        await vectors.delete(this.referencesCollection, `${record.id}/${ref.artifactId}`);
      }
    }
    await vectors.delete(this.meansCollection, record.id);
  }

  /**
   * The stored character's current identity, computing, indexing and saving it first when it is
   * missing or stale (references changed, another model). Concurrent calls share one computation.
   */
  async ensure(record: CharacterRecord): Promise<CharacterIdentity> {
    if (identityIsCurrent(record.identity, record.referenceImages, this.model)) {
      return record.identity;
    }
    const key = `${record.id}:${record.referenceImages.map((ref) => ref.id).join(',')}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = (async () => {
        const previous = record.identity ?? null;
        const identity = await this.compute(
          record.referenceImages.map((ref) => ({ id: ref.id })),
          previous,
        );
        await this.index(record, identity, previous);
        // Saved onto the latest stored copy, unless its references changed meanwhile (then the
        // request that changed them stored their identity).
        const latest = await this.deps.documents.characters.get(record.id);
        if (latest && identityIsCurrent(identity, latest.referenceImages, this.model)) {
          await this.deps.documents.characters.put({
            ...latest,
            identity,
            ...(hasIdentityFace(identity) ? { embeddingModel: this.model } : {}),
          });
        }
        return identity;
      })().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * `ctx.identity`: the identity of a character value from a graph. The stored character's
   * (computed lazily) when its references are the ones the value carries; computed without
   * storing when the value differs from what is stored (edited since, or deleted). Null when no
   * reference image shows exactly one face.
   */
  async identityOf(
    character: Pick<Character, 'id' | 'referenceImages'>,
  ): Promise<CharacterIdentity | null> {
    const record = await this.deps.documents.characters.get(character.id);
    const sameReferences =
      record &&
      record.referenceImages.length === character.referenceImages.length &&
      record.referenceImages.every((ref, i) => ref.id === character.referenceImages[i].id);
    const identity = sameReferences
      ? await this.ensure(record)
      : await this.compute(
          character.referenceImages.map((ref) => ({ id: ref.id })),
          record?.identity ?? null,
        );
    return hasIdentityFace(identity) ? identity : null;
  }

  /**
   * The owner's characters nearest to a face descriptor, nearest first. Characters stored before
   * identities existed are embedded first, so they can be found. The vector port ranks by cosine
   * similarity; the candidates are then re-ranked by the Euclidean distance thresholds use.
   */
  async similar(
    descriptor: Float32Array,
    ownerId: string,
    options: { limit: number; excludeId?: string },
  ): Promise<SimilarCharacter[]> {
    await this.embedMissing(ownerId);
    const limit = Math.min(Math.max(options.limit, 0), MAX_SIMILAR);
    if (limit === 0) return [];
    const hits = await this.deps.vectors.search(
      this.meansCollection,
      Array.from(descriptor),
      limit * CANDIDATE_FACTOR + 1,
      { ownerId },
    );
    const results: SimilarCharacter[] = [];
    for (const hit of hits) {
      if (hit.id === options.excludeId) continue;
      const record = await this.deps.documents.characters.get(hit.id);
      // A stale point (character deleted or re-embedded elsewhere) is skipped, never shown.
      if (!record || record.ownerId !== ownerId) continue;
      const identity = record.identity;
      if (!identityIsCurrent(identity, record.referenceImages, this.model)) continue;
      if (!hasIdentityFace(identity)) continue;
      const distance = round(faceDistance(Float32Array.from(identity.mean), descriptor));
      const imageId = identity.references.find((ref) => ref.role === 'identity')?.artifactId;
      results.push({
        id: record.id,
        name: record.name,
        distance,
        threshold: identity.threshold,
        looksAlike: distance <= identity.threshold,
        ...(imageId ? { imageId } : {}),
      });
    }
    results.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : 1));
    return results.slice(0, limit);
  }

  /** Embeds the owner's characters that have no current identity yet (stored before identities). */
  async embedMissing(ownerId: string): Promise<number> {
    const records = await this.deps.documents.characters.list({ where: { ownerId }, limit: 1000 });
    let embedded = 0;
    for (const record of records) {
      if (identityIsCurrent(record.identity, record.referenceImages, this.model)) continue;
      await this.ensure(record);
      embedded++;
    }
    return embedded;
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * Picks and opens the three stores. Embedded adapters (SQLite, files) by default; a service
 * adapter is chosen by its variable (MONGODB_URL, S3_ENDPOINT, QDRANT_URL), read into
 * `config.stores` by engine/config.ts. This is the only place that choice is made.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readConfig, type LabConfig } from '../config';
import { LabError } from '../errors';
import { FileBlobStore } from './blobs/files';
import { S3BlobStore } from './blobs/s3';
import { MongoDocumentStore } from './documents/mongodb';
import { SqliteDocumentStore } from './documents/sqlite';
import type { BlobStore, DocumentStore, VectorStore } from './ports';
import { QdrantVectorStore } from './vectors/qdrant';
import { SqliteVectorStore } from './vectors/sqlite';

export interface OpenStoresOptions {
  /** The data dir and store services; `readConfig(env)` when omitted. */
  config?: Pick<LabConfig, 'dataDir' | 'stores'>;
  /** Read with readConfig when no `config` is given (tests); defaults to the process's. */
  env?: NodeJS.ProcessEnv;
  /** Overrides the configured data dir. */
  dataDir?: string;
}

export interface Stores {
  /** The absolute data dir the embedded adapters use. */
  dataDir: string;
  documents: DocumentStore;
  blobs: BlobStore;
  vectors: VectorStore;
  /** Closes every store that holds a connection. */
  close(): Promise<void>;
}

/** Opens the document, blob and vector stores for this process and creates the data dir. */
export async function openStores(options: OpenStoresOptions = {}): Promise<Stores> {
  const config = options.config ?? readConfig(options.env);
  const dataDir = resolve(options.dataDir ?? config.dataDir);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw new LabError(
      'data_dir_unavailable',
      `cannot create the data dir "${dataDir}" (${(error as Error).message}); set LAB_DATA_DIR to a writable folder`,
      500,
    );
  }
  // Each store opens on its own; if a later one fails, the ones already open are closed, so a
  // misconfigured service never leaves a half-started process holding connections.
  const opened: { close(): Promise<void> }[] = [];
  const closeAll = () => Promise.all(opened.map((store) => store.close().catch(() => {})));
  try {
    const { mongodbUrl, s3, qdrantUrl } = config.stores;
    const documents: DocumentStore = mongodbUrl
      ? await MongoDocumentStore.open(mongodbUrl)
      : new SqliteDocumentStore(dataDir);
    opened.push(documents);
    const vectors = qdrantUrl
      ? await QdrantVectorStore.open(qdrantUrl)
      : new SqliteVectorStore(dataDir);
    opened.push(vectors);
    // S3 artifacts are downloaded into the data dir when ffmpeg needs a local file.
    const blobs: BlobStore = s3
      ? await S3BlobStore.open(s3, join(dataDir, 'blob-cache'))
      : new FileBlobStore(dataDir);
    return {
      dataDir,
      documents,
      blobs,
      vectors,
      async close() {
        await Promise.all([documents.close(), vectors.close()]);
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Picks and opens the three stores. Embedded adapters (SQLite, files) by default; a service
 * adapter is chosen by its variable (MONGODB_URL, S3_ENDPOINT, QDRANT_URL), read into
 * `config.stores` by engine/config.ts. This is the only place that choice is made.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readConfig, type ConfigVariableName, type LabConfig, type StoresConfig } from '../config';
import { LabError } from '../errors';
import { FileBlobStore } from './blobs/files';
import { SqliteDocumentStore } from './documents/sqlite';
import type { BlobStore, DocumentStore, VectorStore } from './ports';
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

/** Service adapters not in this build yet, with the variable that would select each. */
const SERVICE_ADAPTERS: readonly {
  variable: ConfigVariableName;
  port: string;
  adapter: string;
  isSet(stores: StoresConfig): boolean;
}[] = [
  { variable: 'MONGODB_URL', port: 'documents', adapter: 'MongoDB', isSet: (s) => !!s.mongodbUrl },
  { variable: 'S3_ENDPOINT', port: 'blobs', adapter: 'S3/MinIO', isSet: (s) => !!s.s3 },
  { variable: 'QDRANT_URL', port: 'vectors', adapter: 'Qdrant', isSet: (s) => !!s.qdrantUrl },
];

/** Opens the document, blob and vector stores for this process and creates the data dir. */
export async function openStores(options: OpenStoresOptions = {}): Promise<Stores> {
  const config = options.config ?? readConfig(options.env);
  // Refuse before opening anything, so a misconfigured server never half-starts on SQLite.
  for (const { variable, port, adapter, isSet } of SERVICE_ADAPTERS) {
    if (isSet(config.stores)) {
      throw new LabError(
        'adapter_unavailable',
        `${variable} is set, but the ${adapter} adapter for the ${port} store is not in this build yet; ` +
          `unset ${variable} to use the embedded store in the data dir`,
        500,
        { variable, port },
      );
    }
  }
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
  const documents = new SqliteDocumentStore(dataDir);
  let vectors: SqliteVectorStore;
  try {
    vectors = new SqliteVectorStore(dataDir);
  } catch (error) {
    await documents.close();
    throw error;
  }
  const blobs = new FileBlobStore(dataDir);
  return {
    dataDir,
    documents,
    blobs,
    vectors,
    async close() {
      await Promise.all([documents.close(), vectors.close()]);
    },
  };
}

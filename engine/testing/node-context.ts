/**
 * A real NodeContext for activity tests: embedded stores (SQLite + files) in a temp data dir,
 * a real ArtifactService, a scratch work dir, and progress/checkpoint/log calls recorded so
 * tests can assert on them. Nothing is faked; `dispose()` closes and deletes everything.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactService } from '../artifacts/artifact-service';
import { providerConfigFromEnv } from '../config';
import type { ProviderChoice } from '../providers/choice';
import { openStores, type Stores } from '../stores';
import type { NodeContext } from '../worker/node-api';
import { IdentityService } from '../faces/identity-service';
import { cacheBackedBudget } from '../worker/run-budget';

export interface ProgressCall {
  fraction: number;
  stage?: string;
  /** Sent with `record: true` (always stored in the run's event log). */
  record?: boolean;
}

export interface TestNodeContext {
  ctx: NodeContext;
  stores: Stores;
  artifacts: ArtifactService;
  /** Every ctx.progress call, in order. */
  progress: ProgressCall[];
  /** Every ctx.saveCheckpoint value, in order. */
  checkpoints: unknown[];
  logs: string[];
  /** Aborts ctx.signal (as a run or node cancel would). */
  abort(reason?: unknown): void;
  /** A context for another fan-out item (or attempt) sharing the same stores and recordings. */
  child(overrides: TestContextOverrides): Promise<NodeContext>;
  /** Closes the stores and removes the data and work dirs. */
  dispose(): Promise<void>;
}

export interface TestContextOverrides {
  index?: number;
  total?: number;
  attempt?: number;
  checkpoint?: unknown;
  signal?: AbortSignal;
  reroll?: number;
}

export interface TestNodeContextOptions extends TestContextOverrides {
  runId?: string;
  nodeId?: string;
  /** The provider the activity calls (as the shell resolves it); `local` by default. */
  provider?: ProviderChoice;
}

/** Creates a context on fresh temp-dir stores. Always `await dispose()` (e.g. in afterEach). */
export async function createTestNodeContext(
  options: TestNodeContextOptions = {},
): Promise<TestNodeContext> {
  const root = await mkdtemp(join(tmpdir(), 'charlab-node-test-'));
  // Only the variables that pick store adapters and binaries: a developer's MONGODB_URL or API
  // keys must not turn a unit test into a network test.
  const env: NodeJS.ProcessEnv = {
    ...(process.env.FFMPEG_PATH ? { FFMPEG_PATH: process.env.FFMPEG_PATH } : {}),
    ...(process.env.FFPROBE_PATH ? { FFPROBE_PATH: process.env.FFPROBE_PATH } : {}),
  };
  const stores = await openStores({ dataDir: join(root, 'data'), env });
  const artifacts = new ArtifactService(stores.blobs, stores.documents);
  const media = providerConfigFromEnv(env);
  // The real face models on the temp stores: ctx.identity embeds and stores as the worker does.
  const identities = new IdentityService({
    documents: stores.documents,
    vectors: stores.vectors,
    blobs: stores.blobs,
    ffmpegPath: media.ffmpegPath,
  });
  const controller = new AbortController();
  const progress: ProgressCall[] = [];
  const checkpoints: unknown[] = [];
  const logs: string[] = [];
  let workDirs = 0;

  // The worker makes a scratch dir per activity before it runs; so does this helper.
  const make = async (overrides: TestContextOverrides): Promise<NodeContext> => {
    const workDir = join(root, `work-${workDirs++}`);
    await mkdir(workDir, { recursive: true });
    const signal = overrides.signal ?? controller.signal;
    return {
      runId: options.runId ?? 'run_test',
      nodeId: options.nodeId ?? 'node_test',
      ...(overrides.index !== undefined ? { index: overrides.index } : {}),
      ...(overrides.total !== undefined ? { total: overrides.total } : {}),
      attempt: overrides.attempt ?? 1,
      signal,
      progress(fraction, stage, record) {
        progress.push({
          fraction,
          ...(stage !== undefined ? { stage } : {}),
          ...(record?.record ? { record: true } : {}),
        });
      },
      reroll: overrides.reroll ?? 0,
      budget: cacheBackedBudget(
        stores.documents.cache,
        options.runId ?? 'run_test',
        options.nodeId ?? 'node_test',
      ),
      checkpoint: overrides.checkpoint,
      saveCheckpoint(value) {
        checkpoints.push(value);
      },
      artifacts,
      provider: options.provider ?? { name: 'local' },
      media: { ffmpegPath: media.ffmpegPath, ffprobePath: media.ffprobePath },
      characters: stores.documents.characters,
      identity: (character) => identities.identityOf(character),
      externalTasks: stores.documents.externalTasks,
      workDir,
      log(message) {
        logs.push(message);
      },
    };
  };

  const ctx = await make(options);

  return {
    ctx,
    stores,
    artifacts,
    progress,
    checkpoints,
    logs,
    abort(reason) {
      controller.abort(reason);
    },
    child(overrides) {
      return make({ ...options, ...overrides });
    },
    async dispose() {
      await stores.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

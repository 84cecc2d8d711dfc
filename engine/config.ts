/**
 * The one module that reads configuration from the environment. `readConfig(env)` turns the
 * variables listed in CONFIG_VARIABLES into a typed, validated LabConfig; the engine, the CLI,
 * workers, the Temporal launcher, the stores and the media helpers are handed the values they
 * need and never read the environment themselves (config.test.ts holds every file to that).
 * Provider keys stay here and in the worker that calls the provider: they never reach a graph
 * document, an event, a log line or the browser.
 */
import { resolve } from 'node:path';
import { LabError } from './errors';

/** One configuration variable: its name, its default in words, and what it does. */

/** LAB_LOG_FORMAT's values (engine/logging.ts writes them). */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ConfigVariable {
  name: string;
  default: string;
  description: string;
}

/**
 * Every variable readConfig reads, as data: README's Configuration table lists the same names
 * (config.test.ts compares them). An empty value counts as unset.
 */
export const CONFIG_VARIABLES = [
  {
    name: 'LAB_DATA_DIR',
    default: './.lab',
    description: 'SQLite database, artifacts, Temporal dev-server state',
  },
  { name: 'HOST', default: '127.0.0.1', description: 'where `charlab serve` listens' },
  {
    name: 'PORT',
    default: '8080',
    description: 'where `charlab serve` listens (0: any free port)',
  },
  {
    name: 'TEMPORAL_ADDRESS',
    default: 'unset: launch a dev server',
    description: 'use this Temporal cluster (`host:7233`)',
  },
  { name: 'TEMPORAL_NAMESPACE', default: 'default', description: 'Temporal namespace' },
  {
    name: 'TEMPORAL_CLI_PATH',
    default: "PATH, ~/.local/bin, the SDK's cache",
    description: 'the `temporal` binary for the dev server',
  },
  {
    name: 'LAB_TEMPORAL_LOG_LEVEL',
    default: 'WARN',
    description: 'Temporal SDK log level: TRACE, DEBUG, INFO, WARN or ERROR',
  },
  {
    name: 'LAB_LOG_FORMAT',
    default: '`text`',
    description: 'server and worker log lines: `text` (human) or `json` (one object per line)',
  },
  {
    name: 'LAB_WORKER_METRICS_ADDRESS',
    default: 'unset: off',
    description:
      "where a worker process serves the Temporal SDK's Prometheus metrics (`127.0.0.1:9464`)",
  },
  {
    name: 'LAB_TASK_QUEUE_PREFIX',
    default: 'empty',
    description: 'prefixes every task queue, so several studios share one namespace',
  },
  {
    name: 'LAB_GPU_SLOTS',
    default: '1',
    description: 'activity slots on `lab-gpu` per worker (one per GPU)',
  },
  {
    name: 'LAB_MAX_RUNS_PER_USER',
    default: '8',
    description: 'runs one user may have in flight; more are refused with 429 and Retry-After',
  },
  {
    name: 'LAB_WORKER_TOKEN',
    default: 'random, kept in the data dir',
    description: 'shared secret of the `/workers` namespace',
  },
  {
    name: 'LAB_TOKEN',
    default: 'unset',
    description:
      '`charlab run --server` against a server with accounts: a personal API token (Tokens page)',
  },
  {
    name: 'LAB_SERVER_URL',
    default: 'from the data dir, else `http://HOST:PORT`',
    description: 'where `charlab worker` reports progress',
  },
  {
    name: 'MONGODB_URL',
    default: 'unset: SQLite in the data dir',
    description:
      'the MongoDB document store; the database is the URL path (`mongodb://db:27017/charlab`)',
  },
  {
    name: 'S3_ENDPOINT',
    default: 'unset: files in the data dir',
    description: 'the S3/MinIO blob store, a URL (`http://minio:9000`)',
  },
  {
    name: 'S3_ACCESS_KEY',
    default: 'required with S3_ENDPOINT',
    description: 'S3 access key',
  },
  {
    name: 'S3_SECRET_KEY',
    default: 'required with S3_ENDPOINT',
    description: 'S3 secret key',
  },
  {
    name: 'S3_BUCKET',
    default: '`charlab`',
    description: 'the bucket for artifacts, created if missing',
  },
  {
    name: 'LAB_ARTIFACT_REDIRECT',
    default: '`off`',
    description:
      '`presigned`: artifact downloads redirect to an S3 presigned URL (the S3 endpoint must be reachable by browsers)',
  },
  {
    name: 'S3_REGION',
    default: "the server's default",
    description: 'S3 region',
  },
  {
    name: 'QDRANT_URL',
    default: 'unset: SQLite in the data dir',
    description: 'the Qdrant vector store (character embeddings, similar-character search)',
  },
  {
    name: 'LAB_PUBLIC_URL',
    default: 'unset',
    description:
      'the URL browsers open the studio at behind a proxy (`https://lab.example.com`): its origin and host are allowed',
  },
  {
    name: 'LAB_ALLOWED_ORIGINS',
    default: 'the Vite dev server (`http://localhost:5173`, `http://127.0.0.1:5173`)',
    description:
      "comma-separated origins whose pages may change state (POST, PUT, DELETE, Socket.IO) besides the server's own",
  },
  {
    name: 'LAB_ALLOWED_HOSTS',
    default: 'loopback names and IP addresses',
    description:
      'comma-separated extra Host names the server answers to (`studio.internal`; `.example.com` for subdomains); others get 403',
  },
  {
    name: 'LAB_MAX_SOCKETS_PER_CLIENT',
    default: '50',
    description: 'Socket.IO connections one client address may hold open',
  },
  {
    name: 'LAB_TRUST_PROXY',
    default: 'off',
    description:
      '`on` behind a reverse proxy: the client address (rate limit, socket cap) comes from `X-Forwarded-For`; never `on` when clients reach the server directly',
  },
  {
    name: 'LAB_AUTH',
    default: 'off',
    description:
      '`on`: accounts (sign-in, API and worker tokens, every record owned by a user); `off`: one local user, allowed only on a loopback HOST',
  },
  {
    name: 'LAB_ALLOW_NO_AUTH',
    default: 'off',
    description:
      '`on` lets a server with LAB_AUTH=off listen on a non-loopback HOST (a proxy in front authenticates); logged loudly',
  },
  {
    name: 'LAB_ADMIN_USERNAME',
    default: 'admin',
    description: 'with LAB_AUTH=on and no users yet: the first admin made from LAB_ADMIN_PASSWORD',
  },
  {
    name: 'LAB_ADMIN_PASSWORD',
    default: 'unset: the log shows a one-time link to create the first admin',
    description: "with LAB_AUTH=on and no users yet: the first admin's password (10+ characters)",
  },
  {
    name: 'LAB_REDIS_URL',
    default: 'unset: one API replica',
    description:
      'Redis shared by several API replicas (`redis://redis:6379`): Socket.IO and run events reach every replica',
  },
  {
    name: 'OPENAI_API_KEY',
    default: 'unset',
    description: 'real storyboards and voice-overs (OpenAI)',
  },
  {
    name: 'OPENAI_BASE_URL',
    default: "OpenAI's API",
    description: 'an OpenAI-compatible server instead',
  },
  {
    name: 'SD_API_URL',
    default: 'unset',
    description: 'real frames: an AUTOMATIC1111/Forge or ComfyUI server',
  },
  {
    name: 'SD_API_KIND',
    default: 'a1111',
    description: 'which API the SD_API_URL server speaks: `a1111` or `comfyui`',
  },
  { name: 'RUNWAY_API_KEY', default: 'unset', description: 'real clips (Runway image-to-video)' },
  { name: 'RUNWAY_BASE_URL', default: "Runway's API", description: 'another Runway endpoint' },
  {
    name: 'RUNWAY_POLL_MS',
    default: '5000',
    description: 'how often a Runway task is polled, in milliseconds',
  },
  { name: 'FFMPEG_PATH', default: 'from PATH', description: 'the ffmpeg binary' },
  {
    name: 'FFPROBE_PATH',
    default: 'beside FFMPEG_PATH, else from PATH',
    description: 'the ffprobe binary',
  },
  {
    name: 'LAB_FONT_FILE',
    default: 'found via fontconfig',
    description: 'the font for captions and subtitles',
  },
] as const satisfies readonly ConfigVariable[];

export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]['name'];

/** A variable the environment sets to something readConfig refuses; names the variable. */
export class ConfigError extends LabError {
  constructor(
    readonly variable: ConfigVariableName,
    message: string,
  ) {
    super('invalid_config', message, 500, { variable });
    this.name = 'ConfigError';
  }
}

/** The provider services a deployment can configure, each with what calling it needs. */
export interface ProviderServices {
  openai?: { apiKey: string; baseURL?: string };
  a1111?: { url: string };
  comfyui?: { url: string };
  runway?: { apiKey: string; baseURL?: string; pollIntervalMs: number };
}

/** A provider service's name: what a node lists in its definition's `providers`. */
export type ProviderService = keyof ProviderServices;

export const PROVIDER_SERVICES: readonly ProviderService[] = [
  'openai',
  'a1111',
  'comfyui',
  'runway',
];

/** What to set to configure each service, for errors that tell the user the next step. */
export const PROVIDER_SETUP: Record<ProviderService, string> = {
  openai: 'set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)',
  a1111: 'set SD_API_URL to an AUTOMATIC1111/Forge server and SD_API_KIND=a1111',
  comfyui: 'set SD_API_URL to a ComfyUI server and SD_API_KIND=comfyui',
  runway: 'set RUNWAY_API_KEY (and RUNWAY_BASE_URL for another endpoint)',
};

/**
 * The media tools a worker runs: the ffmpeg binaries (FFMPEG_PATH / FFPROBE_PATH or the names
 * on PATH) and the caption font (LAB_FONT_FILE; unset → engine/media/fonts.ts searches).
 */
export interface MediaTools {
  ffmpegPath: string;
  ffprobePath: string;
  fontFile?: string;
}

export interface ProviderConfig extends MediaTools {
  services: ProviderServices;
}

/** The namespace when TEMPORAL_NAMESPACE is unset and no engine in the data dir names one. */
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The Temporal SDK's log levels, for LAB_TEMPORAL_LOG_LEVEL. */
export const TEMPORAL_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type TemporalLogLevel = (typeof TEMPORAL_LOG_LEVELS)[number];

/**
 * The operating system's variables the `temporal` binary is looked for with (PATH, HOME,
 * PYTHONUSERBASE). Not configuration, but carried with it so the launcher searches the
 * environment its caller read, never the real machine behind a test's fake one.
 */
export interface SearchEnv {
  PATH?: string;
  HOME?: string;
  PYTHONUSERBASE?: string;
}

export interface TemporalConfig {
  /** TEMPORAL_ADDRESS: a cluster to use; unset → the launcher starts a dev server. */
  address?: string;
  /**
   * TEMPORAL_NAMESPACE. Unset → a worker uses the namespace of the engine it finds in the data
   * dir, everything else DEFAULT_TEMPORAL_NAMESPACE.
   */
  namespace?: string;
  /** TEMPORAL_CLI_PATH: the binary for the dev server; unset → searched for. */
  cliPath?: string;
  /** LAB_TEMPORAL_LOG_LEVEL: what the SDK's runtime logs in a worker process. */
  logLevel: TemporalLogLevel;
  /** LAB_WORKER_METRICS_ADDRESS: `host:port` where the SDK's runtime serves /metrics. */
  metricsAddress?: string;
  searchEnv: SearchEnv;
}

/** The store services chosen by variable; all unset → the embedded stores in the data dir. */
export interface S3Config {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
}

export interface StoresConfig {
  /** MONGODB_URL: the document store. */
  mongodbUrl?: string;
  /** S3_ENDPOINT and its keys and bucket: the blob store. */
  s3?: S3Config;
  /** QDRANT_URL: the vector store. */
  qdrantUrl?: string;
}

/** Everything the environment configures, read once by readConfig and handed down. */
export interface LabConfig {
  /** LAB_DATA_DIR, resolved to an absolute path. */
  dataDir: string;
  /** HOST and PORT: where `charlab serve` listens. */
  host: string;
  port: number;
  /** LAB_SERVER_URL: where a worker reports; unset → the data dir's engine.json, host:port. */
  serverUrl?: string;
  /** LAB_WORKER_TOKEN; unset → a random token kept in the data dir. */
  workerToken?: string;
  /** LAB_TOKEN: the personal API token `charlab run --server` sends. */
  token?: string;
  /** LAB_TASK_QUEUE_PREFIX, put before every task queue name. */
  taskQueuePrefix: string;
  /** LAB_GPU_SLOTS: concurrent activities on lab-gpu, one per GPU. */
  gpuSlots: number;
  /** LAB_ARTIFACT_REDIRECT=presigned: downloads redirect to the blob store's presigned URLs. */
  artifactRedirect: 'off' | 'presigned';
  /** LAB_MAX_RUNS_PER_USER: runs one user may have in flight (`charlab serve --max-runs`). */
  maxRunsPerUser: number;
  /** LAB_LOG_FORMAT: human lines or one JSON object per line. */
  logFormat: LogFormat;
  /** LAB_REDIS_URL: the Redis that API replicas share; unset → a single replica. */
  redisUrl?: string;
  /** LAB_PUBLIC_URL: where browsers reach the studio (its origin and host are allowed). */
  publicUrl?: string;
  /** LAB_ALLOWED_ORIGINS; unset → the server's defaults (the Vite dev server). */
  allowedOrigins?: string[];
  /** LAB_ALLOWED_HOSTS: Host names besides loopback names and IP addresses. */
  allowedHosts: string[];
  /** LAB_MAX_SOCKETS_PER_CLIENT: Socket.IO connections per client address. */
  maxSocketsPerClient: number;
  /** LAB_TRUST_PROXY=on: client addresses come from X-Forwarded-For (behind a reverse proxy). */
  trustProxy: boolean;
  /** LAB_AUTH: accounts on, or the single local user. */
  auth: 'off' | 'on';
  /** LAB_ALLOW_NO_AUTH=on: accounts off on a non-loopback HOST anyway. */
  allowNoAuth: boolean;
  /** LAB_ADMIN_USERNAME + LAB_ADMIN_PASSWORD: the first admin of a server without users. */
  bootstrapAdmin?: { username: string; password: string };
  temporal: TemporalConfig;
  stores: StoresConfig;
  /** Provider services and media tools. */
  providers: ProviderConfig;
}

/**
 * Reads and checks every configuration variable. Throws a ConfigError naming the variable when
 * one is set to something unusable (PORT=80a, LAB_GPU_SLOTS=0, …) rather than guessing.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): LabConfig {
  const address = read(env, 'TEMPORAL_ADDRESS');
  const namespace = read(env, 'TEMPORAL_NAMESPACE');
  const cliPath = read(env, 'TEMPORAL_CLI_PATH');
  const serverUrl = read(env, 'LAB_SERVER_URL');
  const workerToken = read(env, 'LAB_WORKER_TOKEN');
  const mongodbUrl = read(env, 'MONGODB_URL');
  const s3Endpoint = read(env, 'S3_ENDPOINT');
  const qdrantUrl = read(env, 'QDRANT_URL');
  const redisUrl = read(env, 'LAB_REDIS_URL');
  return {
    dataDir: resolve(read(env, 'LAB_DATA_DIR') ?? './.lab'),
    host: read(env, 'HOST') ?? '127.0.0.1',
    port: wholeNumber(env, 'PORT', 8080, 0, 65_535, 'a whole number from 0 to 65535'),
    ...(serverUrl ? { serverUrl } : {}),
    ...(workerToken ? { workerToken } : {}),
    ...(read(env, 'LAB_TOKEN') ? { token: read(env, 'LAB_TOKEN') } : {}),
    taskQueuePrefix: read(env, 'LAB_TASK_QUEUE_PREFIX') ?? '',
    gpuSlots: wholeNumber(
      env,
      'LAB_GPU_SLOTS',
      1,
      1,
      Number.MAX_SAFE_INTEGER,
      'a whole number from 1 up (one activity slot per GPU)',
    ),
    artifactRedirect: oneOf(env, 'LAB_ARTIFACT_REDIRECT', ['off', 'presigned'] as const, 'off'),
    maxRunsPerUser: wholeNumber(
      env,
      'LAB_MAX_RUNS_PER_USER',
      8,
      1,
      10_000,
      'a whole number from 1 to 10000 (runs one user may have in flight)',
    ),
    logFormat: oneOf(env, 'LAB_LOG_FORMAT', LOG_FORMATS, 'text'),
    ...(redisUrl ? { redisUrl: redisUrlOf(redisUrl) } : {}),
    ...edgeConfigOf(env),
    trustProxy: oneOf(env, 'LAB_TRUST_PROXY', ['off', 'on'] as const, 'off') === 'on',
    auth: oneOf(env, 'LAB_AUTH', ['off', 'on'] as const, 'off'),
    allowNoAuth: oneOf(env, 'LAB_ALLOW_NO_AUTH', ['off', 'on'] as const, 'off') === 'on',
    ...bootstrapAdminOf(env),
    maxSocketsPerClient: wholeNumber(
      env,
      'LAB_MAX_SOCKETS_PER_CLIENT',
      50,
      1,
      100_000,
      'a whole number from 1 to 100000 (Socket.IO connections per client address)',
    ),
    temporal: {
      ...(address ? { address } : {}),
      ...(namespace ? { namespace } : {}),
      ...(cliPath ? { cliPath } : {}),
      logLevel: oneOf(env, 'LAB_TEMPORAL_LOG_LEVEL', TEMPORAL_LOG_LEVELS, 'WARN'),
      ...metricsAddressOf(env),
      searchEnv: {
        ...(env.PATH !== undefined ? { PATH: env.PATH } : {}),
        ...(env.HOME !== undefined ? { HOME: env.HOME } : {}),
        ...(env.PYTHONUSERBASE !== undefined ? { PYTHONUSERBASE: env.PYTHONUSERBASE } : {}),
      },
    },
    stores: {
      ...(mongodbUrl ? { mongodbUrl } : {}),
      ...(s3Endpoint ? { s3: readS3(env, s3Endpoint) } : {}),
      ...(qdrantUrl ? { qdrantUrl } : {}),
    },
    providers: providerConfigFromEnv(env),
  };
}

/** The provider part of readConfig alone (node tests build provider settings with it). */
export function providerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderConfig {
  const services: ProviderServices = {};
  const openaiKey = read(env, 'OPENAI_API_KEY');
  const openaiBaseURL = read(env, 'OPENAI_BASE_URL');
  if (openaiKey) {
    services.openai = { apiKey: openaiKey, ...(openaiBaseURL ? { baseURL: openaiBaseURL } : {}) };
  }
  const sdUrl = read(env, 'SD_API_URL');
  // One diffusion server per deployment; its kind says which API it speaks.
  const sdKind = oneOf(env, 'SD_API_KIND', ['a1111', 'comfyui'] as const, 'a1111');
  if (sdUrl) services[sdKind] = { url: sdUrl };
  const runwayKey = read(env, 'RUNWAY_API_KEY');
  const runwayBaseURL = read(env, 'RUNWAY_BASE_URL');
  const pollIntervalMs = wholeNumber(
    env,
    'RUNWAY_POLL_MS',
    5_000,
    1,
    Number.MAX_SAFE_INTEGER,
    'a whole number of milliseconds from 1 up',
  );
  if (runwayKey) {
    services.runway = {
      apiKey: runwayKey,
      ...(runwayBaseURL ? { baseURL: runwayBaseURL } : {}),
      pollIntervalMs,
    };
  }
  const ffmpegPath = read(env, 'FFMPEG_PATH') ?? 'ffmpeg';
  const fontFile = read(env, 'LAB_FONT_FILE');
  return {
    services,
    ffmpegPath,
    ffprobePath:
      read(env, 'FFPROBE_PATH') ??
      (ffmpegPath === 'ffmpeg' ? 'ffprobe' : ffmpegPath.replace(/ffmpeg$/, 'ffprobe')),
    ...(fontFile ? { fontFile } : {}),
  };
}

/** The S3 settings that go with S3_ENDPOINT: a URL, both keys, a bucket name. */
function readS3(env: NodeJS.ProcessEnv, endpoint: string): S3Config {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(
      'S3_ENDPOINT',
      refusal('S3_ENDPOINT', 'an http:// or https:// URL', endpoint, 'files in the data dir'),
    );
  }
  const required = (name: 'S3_ACCESS_KEY' | 'S3_SECRET_KEY'): string => {
    const value = read(env, name);
    if (!value) {
      throw new ConfigError(name, `S3_ENDPOINT is set, so ${name} must be set too: set both keys`);
    }
    return value;
  };
  const bucket = read(env, 'S3_BUCKET') ?? 'charlab';
  // S3's bucket naming rules: 3–63 lower-case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(
      'S3_BUCKET',
      refusal(
        'S3_BUCKET',
        'a bucket name of 3 to 63 lower-case letters, digits, dots and hyphens',
        bucket,
        'charlab',
      ),
    );
  }
  const region = read(env, 'S3_REGION');
  return {
    endpoint,
    accessKey: required('S3_ACCESS_KEY'),
    secretKey: required('S3_SECRET_KEY'),
    bucket,
    ...(region ? { region } : {}),
  };
}

/** The first admin's credentials, when LAB_ADMIN_PASSWORD is set. */
function bootstrapAdminOf(env: NodeJS.ProcessEnv): Pick<LabConfig, 'bootstrapAdmin'> {
  const password = read(env, 'LAB_ADMIN_PASSWORD');
  if (!password) return {};
  return { bootstrapAdmin: { username: read(env, 'LAB_ADMIN_USERNAME') ?? 'admin', password } };
}

/** LAB_REDIS_URL, checked now so a typo stops the server at start, not at its first event. */
function redisUrlOf(raw: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new ConfigError(
      'LAB_REDIS_URL',
      refusal('LAB_REDIS_URL', 'a redis:// or rediss:// URL', raw, 'one API replica'),
    );
  }
  return raw;
}

/** LAB_PUBLIC_URL, LAB_ALLOWED_ORIGINS and LAB_ALLOWED_HOSTS, each URL checked now. */
function edgeConfigOf(
  env: NodeJS.ProcessEnv,
): Pick<LabConfig, 'publicUrl' | 'allowedOrigins' | 'allowedHosts'> {
  const list = (name: ConfigVariableName) =>
    (read(env, name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const checkUrl = (name: ConfigVariableName, value: string, fallback: string) => {
    let protocol: string | undefined;
    try {
      protocol = new URL(value).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new ConfigError(name, refusal(name, 'http:// or https:// URLs', value, fallback));
    }
    return value;
  };
  const publicUrl = read(env, 'LAB_PUBLIC_URL');
  const origins = list('LAB_ALLOWED_ORIGINS');
  const hosts = list('LAB_ALLOWED_HOSTS');
  for (const host of hosts) {
    if (!/^\.?[A-Za-z0-9.-]+$/.test(host)) {
      throw new ConfigError(
        'LAB_ALLOWED_HOSTS',
        refusal('LAB_ALLOWED_HOSTS', 'host names without port or scheme', host, 'loopback only'),
      );
    }
  }
  return {
    ...(publicUrl ? { publicUrl: checkUrl('LAB_PUBLIC_URL', publicUrl, 'unset') } : {}),
    ...(origins.length > 0
      ? {
          allowedOrigins: origins.map((o) =>
            checkUrl('LAB_ALLOWED_ORIGINS', o, 'the Vite dev server'),
          ),
        }
      : {}),
    allowedHosts: hosts,
  };
}

/** LAB_WORKER_METRICS_ADDRESS as `host:port` (the SDK binds it; a bad one would fail later). */
function metricsAddressOf(env: NodeJS.ProcessEnv): { metricsAddress?: string } {
  const raw = read(env, 'LAB_WORKER_METRICS_ADDRESS');
  if (raw === undefined) return {};
  const match = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  if (!match || Number(match[1]) > 65_535) {
    throw new ConfigError(
      'LAB_WORKER_METRICS_ADDRESS',
      refusal('LAB_WORKER_METRICS_ADDRESS', 'host:port (`127.0.0.1:9464`)', raw, 'off'),
    );
  }
  return { metricsAddress: raw };
}

/** A variable's value; empty counts as unset (compose files write `VAR: ${VAR:-}`). */
function read(env: NodeJS.ProcessEnv, name: ConfigVariableName): string | undefined {
  return env[name] || undefined;
}

function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: ConfigVariableName,
  fallback: number,
  min: number,
  max: number,
  expected: string,
): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, refusal(name, `${expected}`, raw, String(fallback)));
  }
  return value;
}

/** One of `allowed`, matched without regard to case. */
function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: ConfigVariableName,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = allowed.find((option) => option.toLowerCase() === raw.toLowerCase());
  if (!value)
    throw new ConfigError(name, refusal(name, `one of ${allowed.join(', ')}`, raw, fallback));
  return value;
}

function refusal(name: string, expected: string, raw: string, fallback: string): string {
  return `${name} must be ${expected}, got "${raw}"; fix it, or unset it for the default (${fallback})`;
}

/** Which provider services are configured, for /api/health: names only, never keys. */
export function describeProviders(config: ProviderConfig): Record<string, string> {
  return Object.fromEntries([
    ...PROVIDER_SERVICES.map((service) => [
      service,
      config.services[service] ? 'configured' : 'not configured',
    ]),
    ['ffmpeg', config.ffmpegPath],
  ]);
}

/** Every secret among the services' settings (API keys), for redaction. */
export function providerSecrets(config: ProviderConfig): string[] {
  return Object.values(config.services).flatMap((settings: object) =>
    'apiKey' in settings && typeof settings.apiKey === 'string' ? [settings.apiKey] : [],
  );
}

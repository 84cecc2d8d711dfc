import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, type CliIO } from './cli/main';
import {
  CONFIG_VARIABLES,
  ConfigError,
  readConfig,
  type ConfigVariableName,
  type LabConfig,
} from './config';

const ENGINE_DIR = fileURLToPath(new URL('.', import.meta.url));
const README = new URL('../README.md', import.meta.url);

describe('readConfig', () => {
  it('has a default for everything left unset', () => {
    expect(readConfig({})).toEqual({
      dataDir: resolve('.lab'),
      host: '127.0.0.1',
      port: 8080,
      taskQueuePrefix: '',
      gpuSlots: 1,
      maxRunsPerUser: 8,
      artifactRedirect: 'off',
      logFormat: 'text',
      allowedHosts: [],
      maxSocketsPerClient: 50,
      trustProxy: false,
      auth: 'off',
      allowNoAuth: false,
      temporal: { logLevel: 'WARN', searchEnv: {} },
      stores: {},
      providers: { services: {}, ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
    } satisfies LabConfig);
  });

  it('reads every variable', () => {
    const env: Record<ConfigVariableName, string> & NodeJS.ProcessEnv = {
      LAB_DATA_DIR: 'data/lab',
      LAB_PUBLIC_URL: 'https://lab.example.com',
      LAB_ALLOWED_ORIGINS: 'https://studio.example.org',
      LAB_ALLOWED_HOSTS: 'studio.internal',
      LAB_MAX_SOCKETS_PER_CLIENT: '7',
      LAB_TRUST_PROXY: 'on',
      LAB_AUTH: 'on',
      LAB_ALLOW_NO_AUTH: 'on',
      LAB_ADMIN_USERNAME: 'root',
      LAB_ADMIN_PASSWORD: 'correct horse battery',
      HOST: '0.0.0.0',
      PORT: '9090',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'studio',
      TEMPORAL_CLI_PATH: '/opt/temporal',
      LAB_TEMPORAL_LOG_LEVEL: 'info',
      LAB_LOG_FORMAT: 'JSON',
      LAB_WORKER_METRICS_ADDRESS: '0.0.0.0:9464',
      LAB_TASK_QUEUE_PREFIX: 'a-',
      LAB_GPU_SLOTS: '4',
      LAB_MAX_RUNS_PER_USER: '20',
      LAB_ARTIFACT_REDIRECT: 'presigned',
      LAB_WORKER_TOKEN: 'worker-secret',
      LAB_TOKEN: 'clab_pat_test',
      LAB_SERVER_URL: 'http://api:8080',
      MONGODB_URL: 'mongodb://db:27017/charlab',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY: 'lab',
      S3_SECRET_KEY: 'lab-secret',
      S3_BUCKET: 'lab-artifacts',
      S3_REGION: 'eu-west-1',
      QDRANT_URL: 'http://qdrant:6333',
      LAB_REDIS_URL: 'redis://redis:6379',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://llm:8000/v1',
      SD_API_URL: 'http://gpu:8188',
      SD_API_KIND: 'comfyui',
      RUNWAY_API_KEY: 'key_test',
      RUNWAY_BASE_URL: 'http://runway.test',
      RUNWAY_POLL_MS: '250',
      FFMPEG_PATH: '/opt/ffmpeg/bin/ffmpeg',
      FFPROBE_PATH: '/usr/bin/ffprobe',
      LAB_FONT_FILE: '/fonts/Inter.ttf',
      PATH: '/usr/bin',
      HOME: '/home/lab',
      PYTHONUSERBASE: '/home/lab/.py',
    };
    expect(readConfig(env)).toEqual({
      dataDir: resolve('data/lab'),
      host: '0.0.0.0',
      port: 9090,
      serverUrl: 'http://api:8080',
      workerToken: 'worker-secret',
      token: 'clab_pat_test',
      taskQueuePrefix: 'a-',
      gpuSlots: 4,
      maxRunsPerUser: 20,
      artifactRedirect: 'presigned',
      logFormat: 'json',
      redisUrl: 'redis://redis:6379',
      publicUrl: 'https://lab.example.com',
      allowedOrigins: ['https://studio.example.org'],
      allowedHosts: ['studio.internal'],
      maxSocketsPerClient: 7,
      trustProxy: true,
      auth: 'on',
      allowNoAuth: true,
      bootstrapAdmin: { username: 'root', password: 'correct horse battery' },
      temporal: {
        address: 'temporal:7233',
        namespace: 'studio',
        cliPath: '/opt/temporal',
        logLevel: 'INFO',
        metricsAddress: '0.0.0.0:9464',
        searchEnv: { PATH: '/usr/bin', HOME: '/home/lab', PYTHONUSERBASE: '/home/lab/.py' },
      },
      stores: {
        mongodbUrl: 'mongodb://db:27017/charlab',
        s3: {
          endpoint: 'http://minio:9000',
          accessKey: 'lab',
          secretKey: 'lab-secret',
          bucket: 'lab-artifacts',
          region: 'eu-west-1',
        },
        qdrantUrl: 'http://qdrant:6333',
      },
      providers: {
        services: {
          openai: { apiKey: 'sk-test', baseURL: 'http://llm:8000/v1' },
          comfyui: { url: 'http://gpu:8188' },
          runway: { apiKey: 'key_test', baseURL: 'http://runway.test', pollIntervalMs: 250 },
        },
        ffmpegPath: '/opt/ffmpeg/bin/ffmpeg',
        ffprobePath: '/usr/bin/ffprobe',
        fontFile: '/fonts/Inter.ttf',
      },
    } satisfies LabConfig);
  });

  it('changes something for each variable in CONFIG_VARIABLES', () => {
    // Typed by the table: a variable added to it needs a sample here, and must do something.
    const samples: Record<ConfigVariableName, string> = {
      LAB_DATA_DIR: '/srv/lab',
      LAB_PUBLIC_URL: 'https://lab.example.com',
      LAB_ALLOWED_ORIGINS: 'https://studio.example.org',
      LAB_ALLOWED_HOSTS: 'studio.internal',
      LAB_MAX_SOCKETS_PER_CLIENT: '7',
      LAB_TRUST_PROXY: 'on',
      LAB_AUTH: 'on',
      LAB_ALLOW_NO_AUTH: 'on',
      LAB_ADMIN_USERNAME: 'root',
      LAB_ADMIN_PASSWORD: 'another long password',
      HOST: '0.0.0.0',
      PORT: '0',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'studio',
      TEMPORAL_CLI_PATH: '/opt/temporal',
      LAB_TEMPORAL_LOG_LEVEL: 'ERROR',
      LAB_LOG_FORMAT: 'json',
      LAB_WORKER_METRICS_ADDRESS: '127.0.0.1:9464',
      LAB_TASK_QUEUE_PREFIX: 'b-',
      LAB_GPU_SLOTS: '2',
      LAB_MAX_RUNS_PER_USER: '3',
      LAB_ARTIFACT_REDIRECT: 'presigned',
      LAB_WORKER_TOKEN: 'token',
      LAB_TOKEN: 'clab_pat_other',
      LAB_SERVER_URL: 'http://api:8080',
      MONGODB_URL: 'mongodb://db/lab',
      S3_ENDPOINT: 'http://other-minio:9000',
      S3_ACCESS_KEY: 'other',
      S3_SECRET_KEY: 'other-secret',
      S3_BUCKET: 'other-bucket',
      S3_REGION: 'us-east-2',
      QDRANT_URL: 'http://qdrant:6333',
      LAB_REDIS_URL: 'redis://redis:6379/1',
      OPENAI_API_KEY: 'sk-other',
      OPENAI_BASE_URL: 'http://llm/v1',
      SD_API_URL: 'http://other-gpu:7860',
      SD_API_KIND: 'comfyui',
      RUNWAY_API_KEY: 'key_other',
      RUNWAY_BASE_URL: 'http://runway.test',
      RUNWAY_POLL_MS: '10',
      FFMPEG_PATH: '/opt/ffmpeg',
      FFPROBE_PATH: '/opt/ffprobe',
      LAB_FONT_FILE: '/fonts/a.ttf',
    };
    // The base configures each provider, so the variables that refine one have something to change.
    const base = {
      LAB_ADMIN_PASSWORD: 'first long password',
      OPENAI_API_KEY: 'sk-test',
      SD_API_URL: 'http://gpu:7860',
      RUNWAY_API_KEY: 'k',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY: 'lab',
      S3_SECRET_KEY: 'lab-secret',
    };
    expect(Object.keys(samples).sort()).toEqual(CONFIG_VARIABLES.map((v) => v.name).sort());
    for (const { name } of CONFIG_VARIABLES) {
      expect(readConfig({ ...base, [name]: samples[name] }), name).not.toEqual(readConfig(base));
    }
  });

  it('treats an empty variable as unset', () => {
    const empty = Object.fromEntries(CONFIG_VARIABLES.map(({ name }) => [name, '']));
    expect(readConfig(empty)).toEqual(readConfig({}));
  });

  it('puts ffprobe beside a configured ffmpeg', () => {
    expect(readConfig({ FFMPEG_PATH: '/opt/ffmpeg/bin/ffmpeg' }).providers.ffprobePath).toBe(
      '/opt/ffmpeg/bin/ffprobe',
    );
  });

  it('picks the diffusion API from SD_API_KIND, a1111 by default', () => {
    const kind = (SD_API_KIND?: string) =>
      Object.keys(readConfig({ SD_API_URL: 'http://gpu:7860', SD_API_KIND }).providers.services);
    expect(kind()).toEqual(['a1111']);
    expect(kind('a1111')).toEqual(['a1111']);
    expect(kind('ComfyUI')).toEqual(['comfyui']);
  });

  it.each([
    ['PORT', '80a', 'a whole number from 0 to 65535'],
    ['PORT', '65536', 'a whole number from 0 to 65535'],
    ['PORT', '-1', 'a whole number from 0 to 65535'],
    ['LAB_GPU_SLOTS', '0', 'a whole number from 1 up'],
    ['LAB_MAX_RUNS_PER_USER', '0', 'a whole number from 1 to 10000'],
    ['LAB_GPU_SLOTS', '1.5', 'a whole number from 1 up'],
    ['LAB_GPU_SLOTS', 'two', 'a whole number from 1 up'],
    ['RUNWAY_POLL_MS', '0', 'a whole number of milliseconds from 1 up'],
    ['RUNWAY_POLL_MS', '5s', 'a whole number of milliseconds from 1 up'],
    ['LAB_TEMPORAL_LOG_LEVEL', 'LOUD', 'one of TRACE, DEBUG, INFO, WARN, ERROR'],
    ['LAB_LOG_FORMAT', 'yaml', 'one of text, json'],
    ['LAB_WORKER_METRICS_ADDRESS', '9464', 'host:port'],
    ['LAB_WORKER_METRICS_ADDRESS', 'localhost:99999', 'host:port'],
    ['SD_API_KIND', 'forge', 'one of a1111, comfyui'],
    ['LAB_ARTIFACT_REDIRECT', 'always', 'one of off, presigned'],
    ['S3_ENDPOINT', 'minio:9000', 'an http:// or https:// URL'],
    ['LAB_REDIS_URL', 'http://redis:6379', 'a redis:// or rediss:// URL'],
  ])('refuses %s=%s, naming the variable', (variable, value, expected) => {
    let error: unknown;
    try {
      readConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      code: 'invalid_config',
      variable,
      details: { variable },
      message: expect.stringMatching(
        new RegExp(`^${variable} must be ${expected}.*, got "${value}"; .*unset it`),
      ) as unknown,
    });
  });

  it('stops the CLI (exit 2) before a command starts anything', async () => {
    const err: string[] = [];
    const io: CliIO = {
      out: () => {},
      err: (line) => err.push(line),
      env: { PORT: '80a' },
      cwd: process.cwd(),
      onSignal: () => () => {},
    };
    expect(await main(['serve'], io)).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^charlab: PORT must be a whole number/)]);
  });
});

describe('CONFIG_VARIABLES', () => {
  it('names each variable once, with a default and a description', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const variable of CONFIG_VARIABLES) {
      expect(variable.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(variable.default, variable.name).not.toBe('');
      expect(variable.description, variable.name).not.toBe('');
    }
  });

  it("is README's Configuration table, variable for variable", () => {
    const documented = readmeConfigVariables(readFileSync(README, 'utf8'));
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(
      names.filter((name) => !documented.includes(name)),
      'read by engine/config.ts but missing from README',
    ).toEqual([]);
    expect(
      documented.filter((name) => !(names as string[]).includes(name)),
      'in README but not read by engine/config.ts',
    ).toEqual([]);
  });
});

describe('reading the environment', () => {
  /** Where a file other than config.ts may touch the environment, and what it may read. */
  const ALLOWED: Record<string, readonly string[]> = {
    // The OS environment the `temporal` binary is searched in (config.temporal.searchEnv).
    'temporal/launcher.ts': ['env.HOME', 'env.PATH', 'env.PYTHONUSERBASE'],
    // Where the process environment enters the CLI, to be read by readConfig.
    'cli/io.ts': ['process.env'],
    // Test tooling, not the product: where the fault tests write their measurements
    // (FAULT_REPORT), and the script that sets it for the child test runs.
    'faults/fault-record.ts': ['env.FAULT_REPORT', 'process.env'],
    'faults/fault-table.ts': ['process.env'],
  };

  it('happens only in engine/config.ts', () => {
    const offenders: string[] = [];
    for (const file of engineSources()) {
      const allowed = ALLOWED[file] ?? [];
      const reads = envReads(readFileSync(join(ENGINE_DIR, file), 'utf8'));
      for (const read of reads) if (!allowed.includes(read)) offenders.push(`${file}: ${read}`);
    }
    expect(offenders, 'read it in engine/config.ts (readConfig) and pass it down').toEqual([]);
  });

  it('is found in every form a module could use', () => {
    const source = [
      'const port = io.env.PORT;',
      "const dir = env['LAB_DATA_DIR'];",
      'const { HOST } = options.env;',
      'const all = process.env;',
      'const token = rawIO.env?.LAB_WORKER_TOKEN;',
      '// env.IN_A_COMMENT and process.env are fine',
      '/** Defaults to process.env.LAB_DATA_DIR. */',
      "const url = 'http://host'; // env.AFTER_CODE",
    ].join('\n');
    expect(envReads(source)).toEqual([
      'env.PORT',
      'env.LAB_WORKER_TOKEN',
      'env[…]',
      'destructured env',
      'process.env',
    ]);
  });
});

/** engine/**\/*.ts but tests, the test helpers in engine/testing/ and config.ts itself. */
function engineSources(): string[] {
  return readdirSync(ENGINE_DIR, { recursive: true, encoding: 'utf8' })
    .map((file) => file.split('\\').join('/'))
    .filter(
      (file) =>
        file.endsWith('.ts') &&
        !file.endsWith('.test.ts') &&
        // Test-only code (engine/testing/, engine/faces/testing/, …) may read the test's env.
        !file.split('/').includes('testing') &&
        file !== 'config.ts',
    )
    .sort();
}

/** The ways `source` reads the environment, comments aside. */
function envReads(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const reads = [...code.matchAll(/\b\w*[eE]nv\??\.([A-Z][A-Z0-9_]*)\b/g)].map(
    ([, name]) => `env.${name}`,
  );
  if (/\b\w*[eE]nv(\?\.)?\[/.test(code)) reads.push('env[…]');
  if (/\}\s*=\s*[\w.]*\b\w*[eE]nv\b/.test(code)) reads.push('destructured env');
  if (/\bprocess\.env\b/.test(code)) reads.push('process.env');
  return reads;
}

/** The variables named in README's Configuration table (some rows name several). */
function readmeConfigVariables(readme: string): string[] {
  const section = readme.split(/^## Configuration[ \t]*$/m)[1]?.split(/^#{1,2} /m)[0];
  if (!section) throw new Error('README.md has no "## Configuration" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .flatMap((row) => [...row.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map(([, v]) => v));
}

/**
 * docker-compose.yml cannot be started on the development machines (no Docker engine), so
 * this keeps it in step with the code, both ways: every variable it sets for our services is
 * one the code reads and every variable the production shape needs is set; every service it
 * names (depends_on, URLs, host:port) exists and every port it names is one that service
 * listens on; every long-running service has a health check; the API runs two replicas
 * without a worker, the workers poll every task queue between them, and only the GPU worker,
 * with its NVIDIA reservation, polls lab-gpu; provider keys reach only the workers whose
 * queues run the nodes calling those providers; secrets have no defaults.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NODE_DEFINITIONS } from '../nodes/definitions';
import { CONFIG_VARIABLES, PROVIDER_SETUP, type ProviderService } from './config';
import { ALL_QUEUES, parseQueues, type QueueName } from './temporal/task-queues';

interface ComposeDevice {
  driver?: string;
  count?: number | 'all';
  device_ids?: string[];
  capabilities?: string[];
}

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number)[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  container_name?: string;
  extra_hosts?: string[];
  deploy?: {
    replicas?: number;
    resources?: { reservations?: { devices?: ComposeDevice[] } };
  };
}

const composeText = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const configNames: string[] = CONFIG_VARIABLES.map((v) => v.name);

/** Our services: the ones built from this repository's Dockerfile. */
const labServices = Object.entries(services).filter(([, service]) => service.build === '.');

/**
 * Variables compose sets on our services that the code does not read, and who reads them.
 * None is set today; the NVIDIA runtime's would be the kind that belongs here.
 */
const READ_BY_OTHERS: Record<string, string> = {
  NVIDIA_VISIBLE_DEVICES: 'the NVIDIA container runtime: which GPUs the container sees',
  NVIDIA_DRIVER_CAPABILITIES: 'the NVIDIA container runtime: which driver libraries it mounts',
};

/** Variables compose itself interpolates (`${NAME}`) that are no configuration of the code. */
const COMPOSE_VARIABLES: Record<string, string> = {
  PUBLISH_IP: 'the host address the published ports bind to; 127.0.0.1 unless set',
};

/** Configuration variables compose leaves to their defaults, and why. */
const LEFT_TO_DEFAULTS: Record<string, string> = {
  TEMPORAL_CLI_PATH: 'the binary of the embedded dev server; compose runs a Temporal server',
  FFMPEG_PATH: 'the image installs ffmpeg on PATH',
  FFPROBE_PATH: 'the image installs ffprobe beside ffmpeg',
  LAB_FONT_FILE: 'the image installs DejaVu, which fontconfig finds',
  LAB_ALLOWED_ORIGINS:
    'the studio is served by the API itself, so its origin is the public URL (LAB_PUBLIC_URL), already allowed',
  LAB_MAX_SOCKETS_PER_CLIENT:
    'per user address, which LAB_TRUST_PROXY takes from the proxy; 50 studio tabs per address is plenty',
  LAB_ARTIFACT_REDIRECT:
    "MinIO sits on the compose network, out of browsers' reach, so downloads stream through the API",
  LAB_ALLOW_NO_AUTH: 'accounts are on (LAB_AUTH=on), so nothing is served without them',
  LAB_TOKEN: "the CLI's token for `charlab run --server`; no service of the stack runs the CLI",
};

/** What the production shape needs set: on every service of ours, then by role. */
const REQUIRED = {
  every: [
    'LAB_DATA_DIR',
    'TEMPORAL_ADDRESS',
    'LAB_WORKER_TOKEN',
    'MONGODB_URL',
    'S3_ENDPOINT',
    'S3_ACCESS_KEY',
    'S3_SECRET_KEY',
    'S3_BUCKET',
    'QDRANT_URL',
  ],
  // LAB_PUBLIC_URL is passed through too, but only the deployer knows its value.
  api: [
    'HOST',
    'PORT',
    'LAB_REDIS_URL',
    'LAB_ALLOWED_HOSTS',
    'LAB_TRUST_PROXY',
    'LAB_AUTH',
    'LAB_ADMIN_USERNAME',
    'LAB_ADMIN_PASSWORD',
  ],
  worker: ['LAB_SERVER_URL', 'LAB_WORKER_METRICS_ADDRESS'],
  gpuWorker: ['LAB_GPU_SLOTS'],
};

/** Variables every service of ours must set to the same value (one cluster, one set of stores). */
const SHARED = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'LAB_TASK_QUEUE_PREFIX',
  'LAB_WORKER_TOKEN',
  'MONGODB_URL',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'S3_REGION',
  'QDRANT_URL',
];

/** Secrets: required from the environment (`${NAME:?…}`), never a default in the file. */
const SECRETS = ['LAB_WORKER_TOKEN', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'];

/** Where the images we do not build listen (their defaults; the file changes none of them). */
const IMAGE_PORTS: Record<string, number[]> = {
  postgres: [5432],
  temporal: [7233],
  'temporal-ui': [8080],
  mongo: [27017],
  minio: [9000, 9001],
  qdrant: [6333],
  redis: [6379],
};

/** A service's environment as strings, whichever syntax the file uses. */
function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, value === null ? '' : String(value)]),
  );
}

/**
 * A value as compose interpolates it with nothing set: `${NAME:-default}` → default, a
 * required `${NAME:?message}` → `<NAME>`, `${NAME}` → empty, `$$` → `$`.
 */
function withDefaults(value: string): string {
  return value
    .replace(/\$\$/g, '\0')
    .replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
      (_match, name: string, operator?: string, rest?: string) =>
        operator?.endsWith('-') ? (rest ?? '') : operator?.endsWith('?') ? `<${name}>` : '',
    )
    .replace(/\0/g, '$');
}

/** The names compose interpolates anywhere in the file (`${NAME…}` or `$NAME`, not `$$`). */
function interpolatedNames(text: string): string[] {
  const names = [...text.replace(/\$\$/g, '').matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map(
    (match) => match[1],
  );
  return [...new Set(names)];
}

function argv(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : value.split(/\s+/).filter(Boolean);
}

function dependsOn(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps)
    ? Object.fromEntries(deps.map((name) => [name, 'service_started']))
    : Object.fromEntries(
        Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']),
      );
}

/** The task queues a service of ours polls: none for the API (it must run --no-worker). */
function queuesOf(service: ComposeService): QueueName[] {
  const [command, ...args] = argv(service.command);
  if (command !== 'worker') return [];
  const at = args.indexOf('--queues');
  return at < 0 ? [...ALL_QUEUES] : parseQueues(args[at + 1]);
}

function gpuDevices(service: ComposeService): ComposeDevice[] {
  return service.deploy?.resources?.reservations?.devices ?? [];
}

function port(hostPort: string): number {
  const value = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  if (!Number.isInteger(value)) throw new Error(`no port in "${hostPort}"`);
  return value;
}

/** The ports a service listens on: PORT for the API, the metrics port for a worker. */
function listensOn(name: string): number[] {
  const service = services[name];
  if (service?.build !== '.') return IMAGE_PORTS[name] ?? [];
  const env = envOf(service);
  return [
    ...(queuesOf(service).length === 0 ? [Number(withDefaults(env.PORT ?? '8080'))] : []),
    ...(env.LAB_WORKER_METRICS_ADDRESS ? [port(withDefaults(env.LAB_WORKER_METRICS_ADDRESS))] : []),
  ];
}

/** Every string a service runs or is handed: env values, command, entrypoint, health check. */
function strings(service: ComposeService): string[] {
  const test = service.healthcheck?.test;
  return [
    ...Object.values(envOf(service)),
    ...argv(service.command),
    ...argv(service.entrypoint),
    ...(Array.isArray(test) ? test : test ? [test] : []),
  ].map(withDefaults);
}

/** The host:port pairs in a string: URLs, bare `host:port`, bash's `/dev/tcp/host/port`. */
function addresses(text: string): { host: string; port: number }[] {
  const found = [
    ...text.matchAll(
      /(?:^|[\s'"(=])(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^\s@/'"]+@)?([a-z0-9][a-z0-9.-]*):(\d+)(?=$|[\s/'")?])/gi,
    ),
    ...text.matchAll(/\/dev\/tcp\/([^/\s]+)\/(\d+)/g),
  ];
  return found.map((match) => ({ host: match[1], port: Number(match[2]) }));
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '::1']);

/** A short-syntax port entry: `[host_ip:]published[-end]:target`. */
function publishing(entry: string | number): {
  hostIp?: string;
  first: number;
  last: number;
  target: number;
} {
  const parts = withDefaults(String(entry))
    .replace(/\/(tcp|udp)$/, '')
    .split(':');
  const target = Number(parts.pop());
  const published = parts.pop();
  const hostIp = parts.length > 0 ? parts.join(':') : undefined;
  const [first, last] = (published ?? '').split('-').map(Number);
  return { ...(hostIp ? { hostIp } : {}), first, last: last ?? first, target };
}

/** Variables a provider service needs, read from what config.ts tells the user to set. */
function providerVariables(provider: ProviderService): string[] {
  return [...PROVIDER_SETUP[provider].matchAll(/[A-Z][A-Z0-9_]+/g)]
    .map((match) => match[0])
    .filter((name) => configNames.includes(name));
}

/** A service polls from here on only after everything it needs is up. */
function isOneShot(name: string): boolean {
  return (
    services[name].restart === 'no' &&
    Object.values(services).some(
      (service) => dependsOn(service)[name] === 'service_completed_successfully',
    )
  );
}

describe('docker-compose.yml', () => {
  it('has the production services of the design, each image pinned to a version', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'temporal',
        'temporal-ui',
        'mongo',
        'minio',
        'minio-init',
        'qdrant',
        'redis',
        'api',
        'worker-cpu',
        'worker-gpu',
      ]),
    );
    for (const [name, service] of Object.entries(services)) {
      if (service.build === '.') continue;
      expect(service.image, name).toMatch(/^[a-z0-9./-]+:(?!latest$)[^:]*\d[^:]*$/);
    }
  });

  it('runs only CLI commands and task queues that exist, the API without a worker', () => {
    for (const [name, service] of labServices) {
      const [command, ...args] = argv(service.command);
      expect(['serve', 'worker'], name).toContain(command);
      const queues = args.indexOf('--queues');
      if (queues >= 0) expect(() => parseQueues(args[queues + 1]), name).not.toThrow();
    }
    expect(argv(services.api.command)).toEqual(['serve', '--no-worker']);
  });

  it('has every task queue polled by a worker, lab-gpu only by GPU workers', () => {
    const polled = new Set(labServices.flatMap(([, service]) => queuesOf(service)));
    expect([...polled].sort()).toEqual([...ALL_QUEUES].sort());
    for (const [name, service] of labServices) {
      if (queuesOf(service).includes('gpu')) {
        expect(gpuDevices(service).length, `${name} polls lab-gpu without a GPU`).toBeGreaterThan(
          0,
        );
      }
    }
  });

  it('gives GPU workers NVIDIA devices, lab-gpu alone and one activity slot per GPU', () => {
    expect(queuesOf(services['worker-gpu'])).toEqual(['gpu']);
    for (const [name, service] of labServices) {
      const devices = gpuDevices(service);
      if (!queuesOf(service).includes('gpu')) {
        expect(devices, `${name} reserves GPUs it does not use`).toEqual([]);
        continue;
      }
      expect(queuesOf(service), `${name} polls lab-gpu only`).toEqual(['gpu']);
      expect(devices.length, `${name} reserves no GPU`).toBeGreaterThan(0);
      for (const device of devices) {
        expect(device.driver, name).toBe('nvidia');
        expect(device.capabilities, name).toContain('gpu');
      }
      // `count: all` cannot be checked against the slots: give a number or device_ids.
      const gpus = devices.reduce(
        (sum, device) =>
          sum +
          (typeof device.count === 'number' ? device.count : (device.device_ids?.length ?? NaN)),
        0,
      );
      expect(Number(withDefaults(envOf(service).LAB_GPU_SLOTS ?? '1')), `${name}: slots`).toBe(
        gpus,
      );
    }
  });

  it('runs two API replicas that share live events through Redis', () => {
    const api = services.api;
    expect(api.deploy?.replicas).toBe(2);
    expect(api.container_name, 'a container name allows one replica').toBeUndefined();
    const env = envOf(api);
    expect(withDefaults(env.HOST), 'the API listens inside its container').toBe('0.0.0.0');
    expect(new URL(withDefaults(env.LAB_REDIS_URL)).protocol).toBe('redis:');
  });

  it('sets only variables the code reads (all documented in the README)', () => {
    for (const [name, service] of labServices) {
      for (const variable of Object.keys(envOf(service))) {
        if (variable in READ_BY_OTHERS) continue;
        expect(configNames, `${name}: ${variable}`).toContain(variable);
        expect(readme.includes(`\`${variable}\``), `README: ${variable}`).toBe(true);
      }
    }
  });

  it('sets every variable the production shape needs, or says why it is left to default', () => {
    const set = new Set(labServices.flatMap(([, service]) => Object.keys(envOf(service))));
    for (const name of configNames) {
      expect(set.has(name) || name in LEFT_TO_DEFAULTS, `${name}: set it, or say why not`).toBe(
        true,
      );
      expect(set.has(name) && name in LEFT_TO_DEFAULTS, `${name}: set and left to default`).toBe(
        false,
      );
    }
    for (const name of [...Object.keys(LEFT_TO_DEFAULTS), ...REQUIRED.every]) {
      expect(configNames, `${name} is no configuration variable`).toContain(name);
    }
    for (const [name, service] of labServices) {
      const env = envOf(service);
      const isWorker = queuesOf(service).length > 0;
      const required = [
        ...REQUIRED.every,
        ...(isWorker ? REQUIRED.worker : REQUIRED.api),
        ...(queuesOf(service).includes('gpu') ? REQUIRED.gpuWorker : []),
      ];
      for (const variable of required) {
        expect(withDefaults(env[variable] ?? ''), `${name}: ${variable}`).not.toBe('');
      }
    }
  });

  it('points every service of ours at the same Temporal, stores and token', () => {
    const [first, ...rest] = labServices.map(([name, service]) => [name, envOf(service)] as const);
    for (const [name, env] of rest) {
      for (const variable of SHARED) {
        expect(env[variable], `${name}: ${variable} differs from ${first[0]}`).toBe(
          first[1][variable],
        );
      }
    }
  });

  it('requires the secrets from the environment and gives none a default', () => {
    for (const [name, service] of labServices) {
      const env = envOf(service);
      for (const secret of SECRETS) {
        expect(env[secret], `${name}: ${secret}`).toMatch(new RegExp(`^\\$\\{${secret}:\\?.+\\}$`));
      }
    }
    expect(composeText).not.toMatch(/change-?me/i);
  });

  it('interpolates only configuration variables and documented compose variables', () => {
    for (const name of interpolatedNames(composeText)) {
      if (name in COMPOSE_VARIABLES) {
        expect(readme.includes(`\`${name}\``), `README explains ${name}`).toBe(true);
      } else {
        expect(
          configNames,
          `\${${name}} is neither configuration nor a compose variable`,
        ).toContain(name);
      }
    }
  });

  it('names only services that exist, in depends_on and in every address', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependsOn(service))) {
        expect(Object.keys(services), `${name} depends on ${target}`).toContain(target);
        if (condition === 'service_healthy') {
          expect(services[target].healthcheck?.test, `${target} has no health check`).toBeDefined();
        } else {
          expect(condition, `${name} → ${target}`).toBe('service_completed_successfully');
          expect(isOneShot(target), `${target} is a one-shot`).toBe(true);
        }
      }
      const extraHosts = (service.extra_hosts ?? []).map((entry) => entry.split(':')[0]);
      for (const text of strings(service)) {
        for (const { host, port } of addresses(text)) {
          const where = `${name}: ${host}:${port} in "${text}"`;
          if (extraHosts.includes(host)) continue;
          if (LOCAL_HOSTS.has(host)) {
            expect(listensOn(name), where).toContain(port);
          } else {
            expect(Object.keys(services), where).toContain(host);
            expect(listensOn(host), where).toContain(port);
          }
        }
      }
    }
    expect(new URL(withDefaults(envOf(services['worker-cpu']).LAB_SERVER_URL)).hostname).toBe(
      'api',
    );
    expect(withDefaults(envOf(services.temporal).POSTGRES_SEEDS)).toBe('postgres');
  });

  it('publishes ports only on the loopback interface by default, one per API replica', () => {
    const taken: [string, number, number][] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const entry of service.ports ?? []) {
        const { hostIp, first, last, target } = publishing(entry);
        expect(hostIp, `${name}: ${String(entry)} binds every interface`).toBe('127.0.0.1');
        expect(listensOn(name), `${name}: ${String(entry)}`).toContain(target);
        for (const [other, from, to] of taken) {
          expect(first > to || last < from, `${name} and ${other} publish the same port`).toBe(
            true,
          );
        }
        taken.push([name, first, last]);
        const replicas = service.deploy?.replicas ?? 1;
        expect(last - first + 1, `${name}: a host port for each replica`).toBeGreaterThanOrEqual(
          replicas,
        );
      }
    }
    expect(services.api.ports?.length).toBeGreaterThan(0);
  });

  it('checks the health of every long-running service', () => {
    for (const [name, service] of Object.entries(services)) {
      if (isOneShot(name)) continue;
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(argv(service.healthcheck?.test).length, `${name} has no health check`).toBeGreaterThan(
        0,
      );
    }
    const apiCheck = strings(services.api).find((text) => text.includes('/api/health'));
    expect(apiCheck, 'the API is checked on /api/health').toBeDefined();
  });

  it('hands provider keys only to the workers that run the nodes calling those providers', () => {
    const needs = new Map<string, Set<QueueName>>();
    for (const definition of NODE_DEFINITIONS) {
      if (definition.runsOn === 'inline') continue;
      const [queue] = parseQueues(definition.runsOn);
      for (const provider of definition.providers ?? []) {
        for (const variable of providerVariables(provider as ProviderService)) {
          needs.set(variable, (needs.get(variable) ?? new Set()).add(queue));
        }
      }
    }
    expect(needs.size).toBeGreaterThan(0);
    for (const [name, service] of labServices) {
      const env = envOf(service);
      const queues = queuesOf(service);
      for (const [variable, on] of needs) {
        const polls = queues.some((queue) => on.has(queue));
        expect(variable in env, `${name}: ${variable}`).toBe(polls);
      }
    }
  });
});

/**
 * docker-compose.yml cannot be started on the development machines (no Docker engine), so
 * this keeps it in step with the code: it parses, every worker command names real task
 * queues, every CLI command exists, and every variable it sets is one the code reads.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from './config';
import { parseQueues } from './temporal/task-queues';

interface ComposeService {
  build?: string;
  command?: string[];
  environment?: Record<string, string | number>;
}

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, ComposeService>;
};
const labServices = Object.entries(compose.services).filter(([, service]) => service.build === '.');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  it('has the production services of the design', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['temporal', 'temporal-ui', 'api', 'worker-cpu', 'worker-gpu']),
    );
  });

  it('runs only CLI commands and task queues that exist', () => {
    for (const [name, service] of labServices) {
      const [command, ...args] = service.command ?? ['serve'];
      expect(['serve', 'worker'], name).toContain(command);
      const queues = args.indexOf('--queues');
      if (queues >= 0) expect(() => parseQueues(args[queues + 1]), name).not.toThrow();
    }
  });

  it('sets only variables the code reads (all documented in the README)', () => {
    const read: string[] = CONFIG_VARIABLES.map((v) => v.name);
    for (const [name, service] of labServices) {
      for (const variable of Object.keys(service.environment ?? {})) {
        expect(read, `${name}: ${variable}`).toContain(variable);
        expect(readme, `${name}: ${variable}`).toContain(`\`${variable}\``);
      }
    }
  });
});

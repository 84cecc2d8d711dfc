/**
 * The layout rules the architecture depends on, checked on the source itself so a change that
 * breaks one fails here instead of in review:
 * - the graph core (engine/graph) imports nothing outside itself but zod;
 * - engine code knows no node type id (node types come from the registry handed in);
 * - no import cycle between any two of our files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_DEFINITIONS } from '../nodes/definitions';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|tsx)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return SOURCE.test(name) ? [path] : [];
  });
}

/** Tests, test helpers, conformance suites and fixtures may name real node types on purpose. */
function isProductionSource(path: string): boolean {
  return (
    !/\.test\.tsx?$/.test(path) &&
    !path.split('/').includes('testing') &&
    !path.split('/').includes('fixtures') &&
    !path.endsWith('conformance.ts')
  );
}

/** Relative import specifiers of a file: static imports, re-exports and dynamic imports. */
function relativeImports(path: string): string[] {
  const text = readFileSync(join(root, path), 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1]);
  return specifiers.filter((specifier) => specifier.startsWith('.'));
}

/** The file an import specifier names, or undefined when it is not one of ours. */
function resolveImport(from: string, specifier: string, known: Set<string>): string | undefined {
  const base = join(dirname(from), specifier);
  const candidates = [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')];
  return candidates.find((candidate) => known.has(candidate));
}

const ALL = ['engine', 'nodes', 'editor/src', 'editor/e2e', 'workflows', 'bench'].flatMap(
  sourceFiles,
);

describe('the architecture', () => {
  it('keeps the graph core self-contained: engine/graph imports only itself and zod', () => {
    const leaks = sourceFiles('engine/graph')
      .filter(isProductionSource)
      .flatMap((path) => {
        const text = readFileSync(join(root, path), 'utf8');
        return [...text.matchAll(/\bfrom\s+'([^']+)'/g)]
          .map((match) => match[1])
          .filter((specifier) =>
            specifier.startsWith('.')
              ? !resolve(root, dirname(path), specifier).startsWith(join(root, 'engine/graph'))
              : specifier !== 'zod',
          )
          .map((specifier) => `${path} imports ${specifier}`);
      });
    expect(leaks).toEqual([]);
  });

  it('names no node type in engine code: node types come from the registry', () => {
    const ids = NODE_DEFINITIONS.map((definition) => definition.type);
    expect(ids.length).toBeGreaterThan(0);
    const mentions = sourceFiles('engine')
      .filter(isProductionSource)
      .flatMap((path) => {
        const text = readFileSync(join(root, path), 'utf8');
        return ids
          .filter((id) => new RegExp(`['"\`]${id}['"\`]`).test(text))
          .map((id) => `${path} names "${id}"`);
      });
    expect(mentions).toEqual([]);
  });

  it('has no import cycle between our files', () => {
    const known = new Set(ALL);
    const edges = new Map(
      ALL.map((path) => [
        path,
        relativeImports(path)
          .map((specifier) => resolveImport(path, specifier, known))
          .filter((target): target is string => target !== undefined),
      ]),
    );
    expect(
      findCycles(edges).map((cycle) => cycle.map((p) => relative('.', p)).join(' → ')),
    ).toEqual([]);
  });
});

/** Strongly connected components with more than one file (Tarjan), each as a path list. */
function findCycles(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/**
 * Reading a file (or pasted text) to import, and arranging its problems for the import error
 * view. Whether a document is valid is the server's call (it migrates and validates); this
 * only catches what cannot even be sent (not JSON, too large) and names where each problem is.
 */
import { LIMITS } from '../../../engine/graph/document';
import type { GraphProblem } from '../api/types';

export type ImportRead = { ok: true; value: unknown } | { ok: false; problems: GraphProblem[] };

export function readImportText(text: string, source = 'the file'): ImportRead {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > LIMITS.maxDocumentBytes) {
    return {
      ok: false,
      problems: [
        {
          code: 'document_too_large',
          message: `${source} is ${formatBytes(bytes)}, over the ${formatBytes(LIMITS.maxDocumentBytes)} limit for a graph: split the workflow or remove unused nodes`,
        },
      ],
    };
  }
  if (text.trim() === '') {
    return {
      ok: false,
      problems: [
        {
          code: 'invalid_json',
          message: `${source} is empty: choose an exported workflow (.json)`,
        },
      ],
    };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const where = jsonErrorLocation(text, detail);
    return {
      ok: false,
      problems: [
        {
          code: 'invalid_json',
          message: `${source} is not valid JSON${where ? ` at line ${where.line}, column ${where.column}` : ''} (${detail}): export the workflow again from Character Lab, or fix the file in an editor`,
        },
      ],
    };
  }
}

/**
 * Line and column of a JSON syntax error: from the engine's message when it says (Chrome:
 * "position N (line L column C)"), else by scanning the text ourselves (Node and Firefox
 * phrase it differently or not at all).
 */
export function jsonErrorLocation(
  text: string,
  message: string,
): { line: number; column: number } | null {
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return { line: Number(lineCol[1]), column: Number(lineCol[2]) };
  const position = /position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : findSyntaxError(text);
  if (offset === null) return null;
  const lines = text.slice(0, offset).split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/** Offset of the first JSON syntax error (a small recursive-descent scan), or null if none. */
export function findSyntaxError(text: string): number | null {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
    if (!match) fail();
    i += match![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : null;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1_000_000
    ? `${(bytes / 1_000_000).toFixed(1)} MB`
    : `${Math.ceil(bytes / 1_000)} KB`;
}

/** A problem with a readable location, for the import error view. */
export interface LocatedProblem extends GraphProblem {
  where: string;
}

export interface ProblemGroup {
  /** `document`, `node:<id>` or `edge:<id>`. */
  key: string;
  title: string;
  problems: LocatedProblem[];
}

/**
 * Groups problems by what they are about: the document first, then each node, then each
 * edge, in the order they first appear, so a long list reads like the file.
 */
export function groupProblems(problems: readonly GraphProblem[]): ProblemGroup[] {
  const groups = new Map<string, ProblemGroup>();
  const order = (key: string) => (key === 'document' ? 0 : key.startsWith('node:') ? 1 : 2);
  for (const problem of problems) {
    const key = problem.nodeId
      ? `node:${problem.nodeId}`
      : problem.edgeId
        ? `edge:${problem.edgeId}`
        : 'document';
    const title = problem.nodeId
      ? `Node “${problem.nodeId}”`
      : problem.edgeId
        ? `Edge “${problem.edgeId}”`
        : 'The document';
    const group = groups.get(key) ?? { key, title, problems: [] };
    group.problems.push({ ...problem, where: locate(problem) });
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => order(a.key) - order(b.key));
}

function locate(problem: GraphProblem): string {
  const parts: string[] = [];
  if (problem.path) parts.push(problem.path);
  if (problem.edgeId && problem.nodeId) parts.push(`edge ${problem.edgeId}`);
  if (problem.port) parts.push(`port ${problem.port}`);
  if (problem.param) parts.push(`param ${problem.param}`);
  return parts.join(' · ');
}

/** The problems as plain text, for "Copy problems" (bug reports, fixing the file by hand). */
export function problemsAsText(problems: readonly GraphProblem[]): string {
  return problems
    .map((p) => {
      const at = [
        p.nodeId && `node ${p.nodeId}`,
        p.edgeId && `edge ${p.edgeId}`,
        p.port && `port ${p.port}`,
        p.param && `param ${p.param}`,
      ]
        .filter(Boolean)
        .join(', ');
      return `- [${p.code}]${at ? ` (${at})` : ''} ${p.message}`;
    })
    .join('\n');
}

import { describe, expect, it } from 'vitest';
import {
  findSyntaxError,
  groupProblems,
  jsonErrorLocation,
  problemsAsText,
  readImportText,
} from './import-file';

describe('readImportText', () => {
  it('parses JSON and points at the line of a syntax error', () => {
    expect(readImportText('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    const bad = readImportText('{\n  "a": 1,\n  "b": \n}', 'hero.json');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems[0].code).toBe('invalid_json');
      expect(bad.problems[0].message).toMatch(/^hero\.json is not valid JSON at line 4, column 1/);
    }
    expect(jsonErrorLocation('ab\ncd', 'Unexpected token at position 4')).toEqual({
      line: 2,
      column: 2,
    });
  });

  it('refuses empty and oversized files with a next step', () => {
    expect(readImportText('  ')).toMatchObject({ ok: false, problems: [{ code: 'invalid_json' }] });
    const big = readImportText(' '.repeat(1_000_001) + '{}');
    expect(big).toMatchObject({ ok: false, problems: [{ code: 'document_too_large' }] });
  });
});

describe('groupProblems', () => {
  it('groups by document, node and edge with readable locations', () => {
    const groups = groupProblems([
      { code: 'dangling_edge', message: 'm1', edgeId: 'e1' },
      { code: 'invalid_param', message: 'm2', nodeId: 'frames', param: 'seed' },
      { code: 'invalid_document', message: 'm3', path: 'nodes[0].position.x' },
      { code: 'missing_required_input', message: 'm4', nodeId: 'frames', port: 'storyboard' },
    ]);
    expect(groups.map((g) => [g.key, g.problems.map((p) => p.where)])).toEqual([
      ['document', ['nodes[0].position.x']],
      ['node:frames', ['param seed', 'port storyboard']],
      ['edge:e1', ['']],
    ]);
    expect(problemsAsText([{ code: 'cycle', message: 'loops', nodeId: 'a', edgeId: 'e' }])).toBe(
      '- [cycle] (node a, edge e) loops',
    );
  });
});

describe('findSyntaxError', () => {
  it('finds the offset of the first error, or null for valid JSON', () => {
    expect(findSyntaxError('{"a": [1, 2, {"b": null}], "c": "x\\"y"}')).toBeNull();
    expect(findSyntaxError('{"a": 1,}')).toBe(8);
    expect(findSyntaxError('[1 2]')).toBe(3);
    expect(findSyntaxError('{"a": tru}')).toBe(6);
    expect(findSyntaxError('{"a": 1} x')).toBe(9);
    expect(findSyntaxError('{"a": "open')).toBe(11);
  });
});

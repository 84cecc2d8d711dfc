import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { graphSchema } from '../../nodes/definitions';
import { LabError } from '../errors';
import { graphDoc, pngBytes } from '../testing/server-fixtures';
import {
  TEMPLATE_FILE_MIGRATIONS,
  TEMPLATE_FILE_VERSION,
  readTemplateFile,
  writeTemplateFile,
} from './template-file';

/** A runnable graph exposing its script. */
function storyGraph() {
  return graphSchema.prepare(
    graphDoc(
      'Story',
      [
        { id: 'script', type: 'script-input', params: { text: 'She waves.' } },
        { id: 'story', type: 'gpt-storyboard', params: { provider: 'local', shots: 2 } },
      ],
      [['script', 'text', 'story', 'script']],
      { exposed: [{ nodeId: 'script', param: 'text', label: 'Script', help: 'What happens' }] },
    ),
  ).graph;
}

/** The code and details of the LabError `read` throws. */
function refusal(read: () => unknown): { code: string; first: string; message: string } {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    const lab = error as LabError;
    const errors = (lab.details as { errors: { code: string }[] }).errors;
    return { code: lab.code, first: errors[0].code, message: lab.message };
  }
  throw new Error('expected the file to be refused');
}

const exercised = new Set<string>();

describe('template file format', () => {
  it('writes the current format with stable keys and reads it back unchanged', () => {
    const preview = { mime: 'image/png', bytes: pngBytes(4, 3) };
    const text = writeTemplateFile({
      name: 'Story',
      description: 'A short',
      category: 'Shorts',
      templateVersion: 3,
      preview,
      graph: storyGraph(),
    });
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'schema',
      'version',
      'name',
      'description',
      'category',
      'templateVersion',
      'preview',
      'graph',
    ]);
    expect(json).toMatchObject({
      schema: 'character-lab/template',
      version: TEMPLATE_FILE_VERSION,
      preview: { sha256: createHash('sha256').update(preview.bytes).digest('hex') },
    });
    const read = readTemplateFile(text, graphSchema);
    expect(read).toMatchObject({ name: 'Story', category: 'Shorts', templateVersion: 3 });
    expect(read.migratedFrom).toBeUndefined();
    expect(read.preview?.bytes.equals(preview.bytes)).toBe(true);
    expect(read.graph).toEqual(storyGraph());
    expect(
      writeTemplateFile({ ...read, preview: read.preview, templateVersion: read.templateVersion }),
    ).toBe(text);
  });

  describe('migrations', () => {
    it('0001-wrap-graph-document: a bare graph document (format 0, as in workflows/) becomes a file', () => {
      const before = graphDoc(
        'Greeting',
        [{ id: 'script', type: 'script-input', params: { text: 'Hello.' } }],
        [],
        { description: 'Says hello' },
      );
      const after = TEMPLATE_FILE_MIGRATIONS[0].up(structuredClone(before));
      expect(after).toEqual({
        schema: 'character-lab/template',
        version: 1,
        name: 'Greeting',
        description: 'Says hello',
        category: 'General',
        templateVersion: 1,
        preview: null,
        graph: before,
      });
      exercised.add('0001-wrap-graph-document');
    });

    it('imports a version-0 graph inside a format-0 file through both migration chains', () => {
      // The graph document's own version 0 (params under `data`, nested links).
      const v0 = {
        version: 0,
        id: 'old',
        name: 'Old story',
        nodes: [
          { id: 'script', type: 'script-input', position: { x: 0, y: 0 }, data: { text: 'Hi.' } },
          { id: 'story', type: 'gpt-storyboard', position: { x: 300, y: 0 }, data: {} },
        ],
        links: [{ from: { node: 'script', port: 'text' }, to: { node: 'story', port: 'script' } }],
        exposed: [{ nodeId: 'script', param: 'text', label: 'Script' }],
      };
      const read = readTemplateFile(JSON.stringify(v0), graphSchema);
      expect(read.migratedFrom).toBe(0);
      expect(read.migrations.map((m) => m.name)).toEqual([
        'template-file:0001-wrap-graph-document',
        '0001-edges-and-params',
      ]);
      expect(read).toMatchObject({ name: 'Old story', preview: null, templateVersion: 1 });
      expect(read.graph.version).toBe(1);
      expect(read.graph.edges).toHaveLength(1);
    });

    it('exercises every template file migration in a fixture test', () => {
      expect([...exercised].sort()).toEqual(TEMPLATE_FILE_MIGRATIONS.map((m) => m.name).sort());
    });
  });

  describe('refuses bad files with invalid_template and the reason', () => {
    const good = () =>
      JSON.parse(
        writeTemplateFile({
          name: 'Story',
          description: '',
          category: 'General',
          templateVersion: 1,
          preview: { mime: 'image/png', bytes: pngBytes(2, 2) },
          graph: storyGraph(),
        }),
      ) as Record<string, unknown> & { preview: Record<string, unknown> };

    it.each([
      ['a newer format version', () => ({ ...good(), version: 2 }), 'unsupported_version'],
      ['a version that is not a number', () => ({ ...good(), version: '1' }), 'unknown_schema'],
      ['another schema', () => ({ ...good(), schema: 'x/template' }), 'unknown_schema'],
      ['not JSON', () => '{"schema":', 'invalid_json'],
      ['a list', () => [good()], 'invalid_shape'],
      ['an unknown field', () => ({ ...good(), author: 'me' }), 'invalid_shape'],
      [
        'a graph that cannot run',
        () => ({ ...good(), graph: { ...storyGraph(), edges: [] } }),
        'missing_required_input',
      ],
      [
        'a preview whose bytes are not what it says',
        () => ({
          ...good(),
          preview: { ...good().preview, mime: 'image/jpeg', sha256: undefined },
        }),
        'invalid_preview',
      ],
      [
        'a preview changed after export',
        () => ({
          ...good(),
          preview: { ...good().preview, base64: pngBytes(3, 3).toString('base64') },
        }),
        'invalid_preview',
      ],
      [
        'a preview that is not base64',
        () => ({ ...good(), preview: { mime: 'image/png', base64: '@@@@' } }),
        'invalid_preview',
      ],
    ])('%s', (_name, make, code) => {
      const made = make();
      const input = typeof made === 'string' ? made : JSON.parse(JSON.stringify(made));
      const { code: errorCode, first } = refusal(() => readTemplateFile(input, graphSchema));
      expect(errorCode).toBe('invalid_template');
      expect(first).toBe(code);
    });

    it('names the versions it reads when a file is too new', () => {
      const { message } = refusal(() => readTemplateFile({ ...good(), version: 7 }, graphSchema));
      expect(message).toContain('format version 7');
      expect(message).toContain('upgrade Character Lab');
    });
  });
});

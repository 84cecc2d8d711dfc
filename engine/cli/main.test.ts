import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestEngine,
  temporalUnavailable,
  testEnv,
  type TestEngine,
} from '../testing/engine-harness';
import { buildServer, type LabServer } from '../server/app';
import { brokenGraph, graphDoc, storyGraph, tinyFilm } from '../testing/server-fixtures';
import { ArtifactService } from '../artifacts/artifact-service';
import { AccountService } from '../auth/account-service';
import { TemplateCatalog, TemplateService } from '../server/templates';
import { openStores } from '../stores';
import { graphSchema } from '../../nodes/definitions';
import { main, type CliIO } from './main';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** An in-memory terminal; `signal()` plays Ctrl-C. */
function terminal(env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT) {
  const out: string[] = [];
  const err: string[] = [];
  const handlers = new Set<(signal: NodeJS.Signals) => void>();
  const io: CliIO = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env,
    cwd,
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
  return { io, out, err, signal: () => [...handlers].forEach((handler) => handler('SIGINT')) };
}

let scratch: string;
const file = async (name: string, content: unknown) => {
  const path = join(scratch, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'charlab-cli-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('charlab usage', () => {
  it('prints help (exit 0) and shows usage on bad commands (exit 2)', async () => {
    const help = terminal();
    expect(await main(['--help'], help.io)).toBe(0);
    expect(help.out.join('\n')).toContain('charlab run <graph.json>');
    const none = terminal();
    expect(await main([], none.io)).toBe(2);
    const unknown = terminal();
    expect(await main(['launch'], unknown.io)).toBe(2);
    expect(unknown.err[0]).toBe('charlab: unknown command "launch"');
    expect(unknown.err.join('\n')).toContain('Usage:');
    const flag = terminal();
    expect(await main(['run', 'x.json', '--outt', 'a.mp4'], flag.io)).toBe(2);
    expect(flag.err[0]).toContain("Unknown option '--outt'");
  });
});

describe('charlab serve', () => {
  it('refuses a run cap that is not a whole number from 1 before starting anything', async () => {
    const t = terminal();
    expect(await main(['serve', '--max-runs', '0'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/--max-runs takes a whole number from 1 to 10000, got "0"/);
  });

  it('refuses a non-loopback HOST without accounts, and a default worker token, before starting anything', async () => {
    const dataDir = join(scratch, 'never-made');
    const open = terminal({ LAB_DATA_DIR: dataDir, LAB_AUTH: 'off', HOST: '0.0.0.0', PORT: '0' });
    expect(await main(['serve'], open.io)).toBe(1);
    expect(open.err.join('\n')).toMatch(
      /^charlab: refusing to listen on 0\.0\.0\.0 without accounts/,
    );
    expect(open.err.join('\n')).toContain('LAB_AUTH=on');
    const weak = terminal({
      LAB_DATA_DIR: dataDir,
      LAB_AUTH: 'on',
      LAB_WORKER_TOKEN: 'change-me',
      HOST: '127.0.0.1',
      PORT: '0',
    });
    expect(await main(['serve'], weak.io)).toBe(1);
    expect(weak.err.join('\n')).toContain('LAB_WORKER_TOKEN is a default or too short');
    // Refused before the engine made its data dir (or started Temporal).
    await expect(readFile(join(dataDir, 'lab.db'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('charlab worker', () => {
  it('refuses unknown task queues before starting anything', async () => {
    const t = terminal();
    expect(await main(['worker', '--queues', 'lab-cpu,lab-nope'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(
      /^charlab: --queues: unknown task queue lab-nope: use any of lab-workflows, lab-cpu/,
    );
  });
});

describe('charlab validate', () => {
  it('says a shipped template is valid', async () => {
    const t = terminal();
    expect(await main(['validate', 'workflows/character-short.json'], t.io)).toBe(0);
    const shipped = JSON.parse(await readFile('workflows/character-short.json', 'utf8')) as {
      nodes: unknown[];
    };
    expect(t.out[0]).toContain(
      `character-short.json: valid ("Character short", ${shipped.nodes.length} nodes`,
    );
  });

  it('prints every problem and exits 1', async () => {
    const t = terminal();
    expect(await main(['validate', await file('broken.json', brokenGraph())], t.io)).toBe(1);
    expect(t.out[0]).toMatch(/broken\.json: \d+ problems$/);
    const text = t.out.join('\n');
    for (const code of [
      'unknown_node_type',
      'cycle',
      'port_type_mismatch',
      'missing_required_input',
    ]) {
      expect(text).toContain(`- ${code}: `);
    }
    const json = terminal();
    expect(await main(['validate', await file('bad.json', '{"nodes": [')], json.io)).toBe(1);
    expect(json.out[1]).toContain('invalid_json');
  });

  it('names a missing file as a usage error', async () => {
    const t = terminal();
    expect(await main(['validate', 'no/such.json'], t.io)).toBe(2);
    expect(t.err[0]).toContain('cannot read the graph file "no/such.json" (no such file)');
  });
});

describe('charlab run, before anything runs', () => {
  it('lists every problem of an invalid graph and exits 2', async () => {
    const t = terminal();
    expect(await main(['run', await file('broken.json', brokenGraph())], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/the graph cannot run, \d+ problems:/);
    expect(t.err.join('\n')).toContain('- cycle: ');
  });

  it('checks --set targets and values against the graph', async () => {
    const t = terminal();
    const graph = await file('story.json', storyGraph());
    expect(
      await main(['run', graph, '--set', 'story.shots=many', '--set', 'nope.text=x'], t.io),
    ).toBe(2);
    const text = t.err.join('\n');
    expect(text).toContain('- invalid_param: "story.shots"');
    expect(text).toContain('- unknown_value_target: "nope.text"');
  });

  it('takes a graph file or --template, not both, and --version only with --template', async () => {
    const both = terminal();
    expect(await main(['run', 'x.json', '--template', 'character-short'], both.io)).toBe(2);
    expect(both.err[0]).toContain('give a graph file or --template, not both');
    const version = terminal();
    expect(await main(['run', 'x.json', '--version', '2'], version.io)).toBe(2);
    expect(version.err[0]).toContain('--version goes with --template');
    const neither = terminal();
    expect(await main(['run'], neither.io)).toBe(2);
    expect(neither.err[0]).toContain('or --template ID');
  });

  it('reports an unreachable server (exit 1)', async () => {
    const t = terminal();
    const graph = await file('story.json', storyGraph());
    expect(await main(['run', graph, '--server', 'http://127.0.0.1:9'], t.io)).toBe(1);
    expect(t.err.at(-1)).toMatch(
      /cannot reach the server at http:\/\/127\.0\.0\.1:9 .*charlab serve/,
    );
  });
});

describe.skipIf(temporalUnavailable())('charlab run and serve', () => {
  const short = (shots: number) => [
    'workflows/character-short.json',
    '--set',
    `story.shots=${shots}`,
  ];

  it('runs embedded: live progress lines, the final MP4 written, exit 0', async () => {
    const dataDir = await mkdtemp(join(scratch, 'data-'));
    const t = terminal(testEnv(dataDir));
    const out = join(scratch, 'short.mp4');
    expect(await main(['run', ...short(1), '--out', out], t.io), t.err.join('\n')).toBe(0);
    expect(t.out[0]).toMatch(/^run run_\w+ started$/);
    expect(t.out).toContain('[merge] done');
    expect(t.out.some((line) => /^\[clips \d\/1\] \d+%/.test(line))).toBe(true);
    expect(t.out.at(-2)).toMatch(/^run succeeded in \d+\.\d s$/);
    expect(t.out.at(-1)).toMatch(new RegExp(`^wrote ${out} \\(0\\.\\d MB, \\d\\.\\d s\\)$`));
    const bytes = await readFile(out);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
  });

  it("runs one of the data dir's own templates embedded, with --set on its exposed params", async () => {
    const dataDir = await mkdtemp(join(scratch, 'data-'));
    const env = testEnv(dataDir);
    // The template is saved the way the server saves one, into the store the CLI then opens.
    const stores = await openStores({ env });
    const templates = new TemplateService({
      graph: graphSchema,
      documents: stores.documents,
      artifacts: new ArtifactService(stores.blobs, stores.documents),
      catalog: new TemplateCatalog(graphSchema, join(scratch, 'no-shipped-templates')),
    });
    const template = await templates.create('local', { graph: tinyFilm(), name: 'Tiny film' });
    await stores.close();

    const t = terminal(env);
    const out = join(scratch, 'from-template.mp4');
    const args = [
      'run',
      '--template',
      template.id,
      '--set',
      'script.text=She waves. He waves back.',
    ];
    expect(await main([...args, '--out', out], t.io), t.err.join('\n')).toBe(0);
    expect(t.out).toContain('[merge] done');
    expect((await readFile(out)).subarray(4, 8).toString('latin1')).toBe('ftyp');

    const refused = terminal(env);
    expect(
      await main(['run', '--template', template.id, '--set', 'merge.crf=10'], refused.io),
    ).toBe(2);
    expect(refused.err.join('\n')).toMatch(/param_not_exposed: .*"merge\.crf"/);
  });

  it('exits 1 with the failing node and its error when the run fails', async () => {
    const dataDir = await mkdtemp(join(scratch, 'data-'));
    const t = terminal(testEnv(dataDir));
    // OpenAI asked for by name on a worker without OPENAI_API_KEY: the node fails at once.
    const graph = graphDoc(
      'Unconfigured provider',
      [
        { id: 'script', type: 'script-input', params: { text: 'She waves.' } },
        { id: 'story', type: 'gpt-storyboard', params: { provider: 'openai', shots: 1 } },
        { id: 'frames', type: 'sd-lora-frame', params: { provider: 'local' } },
      ],
      [
        ['script', 'text', 'story', 'script'],
        ['story', 'storyboard', 'frames', 'storyboard'],
      ],
    );
    expect(await main(['run', await file('unconfigured.json', graph)], t.io)).toBe(1);
    expect(t.err.join('\n')).toMatch(/node "story" failed: .*openai/i);
    expect(t.out).toContain('[frames] skipped');
  });

  it('exits 2 naming the node when the graph names a character that does not exist', async () => {
    const dataDir = await mkdtemp(join(scratch, 'data-'));
    const t = terminal(testEnv(dataDir));
    const graph = graphDoc(
      'Missing character',
      [
        { id: 'script', type: 'script-input', params: { text: 'She waves.' } },
        { id: 'who', type: 'character-loader', params: { characterId: 'char_nobody' } },
        { id: 'story', type: 'gpt-storyboard', params: { provider: 'local', shots: 1 } },
      ],
      [
        ['script', 'text', 'story', 'script'],
        ['who', 'character', 'story', 'character'],
      ],
    );
    expect(await main(['run', await file('missing.json', graph)], t.io)).toBe(2);
    expect(t.err.join('\n')).toMatch(/character_not_found: node "who" .*char_nobody/);
  });

  describe('against a server', () => {
    let lab: TestEngine;
    let server: LabServer;
    let url: string;

    beforeAll(async () => {
      lab = await startTestEngine({ startWorker: true });
      server = buildServer(lab.engine);
      ({ url } = await server.listen('127.0.0.1', 0));
    });
    afterAll(async () => {
      await server?.close();
      await lab?.close();
    });

    it('runs with --server: progress over Socket.IO, the video downloaded over HTTP', async () => {
      const t = terminal();
      const out = join(scratch, 'remote.mp4');
      expect(
        await main(['run', ...short(1), '--server', url, '--out', out], t.io),
        t.err.join('\n'),
      ).toBe(0);
      expect(t.out).toContain('[merge] done');
      const [run] = await lab.engine.runs.list({ limit: 1 });
      const video = run.snapshot.nodes.merge.outputs?.video as { sha256: string };
      const bytes = await readFile(out);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(video.sha256);
    });

    it('runs a template with --server; a key it does not expose or a bad value starts nothing', async () => {
      const created = await fetch(`${url}/api/templates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ graph: tinyFilm(), name: 'Tiny film' }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const runsBefore = (await lab.engine.runs.list({ limit: 500 })).length;

      const unknownKey = terminal();
      expect(
        await main(
          ['run', '--template', id, '--set', 'merge.crf=10', '--server', url],
          unknownKey.io,
        ),
      ).toBe(2);
      expect(unknownKey.err.join('\n')).toMatch(/param_not_exposed: .*"merge\.crf"/);
      const badValue = terminal();
      expect(
        await main(
          ['run', '--template', id, '--set', 'story.shots=99', '--server', url],
          badValue.io,
        ),
      ).toBe(2);
      expect(badValue.err.join('\n')).toContain('invalid_param: "story.shots"');
      const missing = terminal();
      expect(
        await main(['run', '--template', 'tpl_0000000000000000', '--server', url], missing.io),
      ).toBe(2);
      expect(missing.err.join('\n')).toContain('template_not_found');
      expect((await lab.engine.runs.list({ limit: 500 })).length).toBe(runsBefore);

      const t = terminal();
      const out = join(scratch, 'remote-template.mp4');
      const args = ['run', '--template', id, '--set', 'story.shots=1', '--server', url];
      expect(await main([...args, '--out', out], t.io), t.err.join('\n')).toBe(0);
      const [run] = await lab.engine.runs.list({ limit: 1 });
      expect(run.graph.meta).toMatchObject({ template: { id, version: 1 } });
      const video = run.snapshot.nodes.merge.outputs?.video as { sha256: string };
      expect(
        createHash('sha256')
          .update(await readFile(out))
          .digest('hex'),
      ).toBe(video.sha256);
    });

    it('runs on a server with accounts with LAB_TOKEN, and names LAB_TOKEN when it is missing or wrong', async () => {
      const secured = buildServer(lab.engine, { auth: 'on' });
      const { url: securedUrl } = await secured.listen('127.0.0.1', 0);
      try {
        const accounts = new AccountService(lab.engine.documents);
        await accounts.createUser({ username: 'cli-user', password: 'a long enough password' });
        const viewer = {
          id: 'usr_cli-user',
          username: 'cli-user',
          role: 'member',
          via: 'token',
        } as const;
        const { token } = await accounts.createToken(viewer, { name: 'cli test' });
        const graph = await file('token-film.json', tinyFilm());

        const signedOut = terminal();
        expect(await main(['run', graph, '--server', securedUrl], signedOut.io)).toBe(2);
        expect(signedOut.err.join('\n')).toMatch(/has accounts: set LAB_TOKEN/);

        const wrong = terminal({ LAB_TOKEN: `${token.slice(0, -4)}0000` });
        expect(await main(['run', graph, '--server', securedUrl], wrong.io)).toBe(2);
        expect(wrong.err.join('\n')).toMatch(/refused LAB_TOKEN/);

        const runsBefore = (await lab.engine.runs.list({ limit: 500 })).length;
        const signedIn = terminal({ LAB_TOKEN: token });
        const out = join(scratch, 'token-film.mp4');
        expect(
          await main(['run', graph, '--server', securedUrl, '--out', out], signedIn.io),
          signedIn.err.join('\n'),
        ).toBe(0);
        const [run] = await lab.engine.runs.list({ limit: 1 });
        expect((await lab.engine.runs.list({ limit: 500 })).length).toBe(runsBefore + 1);
        expect(run.ownerId).toBe('usr_cli-user');
      } finally {
        await secured.close();
      }
    });
  });

  it('serves until interrupted', async () => {
    const dataDir = await mkdtemp(join(scratch, 'data-'));
    const t = terminal(testEnv(dataDir, { HOST: '127.0.0.1', PORT: '0' }));
    const exit = main(['serve', '--no-worker'], t.io);
    await expect
      .poll(() => t.out[0], { timeout: 30_000 })
      .toMatch(/^Character Lab is running at http:\/\/127\.0\.0\.1:\d+$/);
    const url = t.out[0].split(' at ')[1];
    const health = await fetch(`${url}/api/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(await readFile(join(dataDir, 'engine.json'), 'utf8')).serverUrl).toBe(url);
    t.signal();
    expect(await exit).toBe(0);
    expect(t.out.at(-1)).toBe('stopped');
    await expect(fetch(`${url}/api/health`)).rejects.toThrow();
  });
});

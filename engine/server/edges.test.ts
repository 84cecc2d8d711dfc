/**
 * The hardened edges of the API (issue 10): Host and Origin allowlists on HTTP and Socket.IO,
 * security headers, body timeouts, malformed and truncated multipart bodies, JSON depth,
 * Fastify's own errors in our shape, the run:watch limit and the per-client socket cap.
 * Raw sockets on 127.0.0.1 where a well-behaved client cannot send what an attacker does.
 */
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySnapshot } from '../runs/events';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import { graphDoc, pngBytes } from '../testing/server-fixtures';
import type { RunRecord } from '../stores/ports';
import { buildServer, type LabServer, type ServerOptions } from './app';
import { formatBytes } from './http-errors';

const skip = temporalUnavailable();

/** What a raw HTTP exchange ended with: the status line's code (0: none) and the body text. */
interface RawAnswer {
  status: number;
  text: string;
}

/**
 * Writes `head` then `chunks` (one every `everyMs`) on a raw TCP connection, then waits for the
 * server to answer and close (or, with `endAfter`, half-closes after the last chunk).
 */
function rawExchange(
  port: number,
  head: string,
  chunks: Buffer[] = [],
  everyMs = 0,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text: text.slice(text.indexOf('\r\n\r\n') + 4) });
    };
    socket.on('data', (data) => {
      received.push(data);
      // A complete answer: stop writing, so a trickle ends as soon as the server answered.
      if (/^HTTP\/1\.1 \d{3}/.test(Buffer.concat(received).toString('latin1'))) {
        clearTimeout(timer);
      }
    });
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      reject(error);
    });
    socket.write(head);
    let next = 0;
    const writeNext = () => {
      if (socket.destroyed || next >= chunks.length) return;
      socket.write(chunks[next++]);
      timer = setTimeout(writeNext, everyMs);
    };
    writeNext();
  });
}

/** A multipart form with one file, as a browser sends it: the part's head, its bytes, the end. */
function multipartParts(field: string, filename: string, bytes: Buffer, boundary: string) {
  return {
    head: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    bytes,
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
  };
}

/** A document nested `depth` levels deep inside a graph's node params. */
function nestedGraph(depth: number): string {
  const graph = JSON.stringify(graphDoc('Deep', [{ id: 's', type: 'script-input' }], []));
  return graph.replace('"params":{}', `"params":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`);
}

describe.skipIf(skip)('hardened edges', () => {
  let lab: TestEngine;
  let server: LabServer;
  let port: number;
  let scratch: string;
  let uploadTmp: string;
  const extraServers: LabServer[] = [];
  const sockets: Socket[] = [];
  const savedTmp = process.env.TMPDIR;

  const serverWith = (options: ServerOptions) => {
    const extra = buildServer(lab.engine, {
      editorDir: join(scratch, 'no-editor'),
      rateLimit: false,
      ...options,
    });
    extraServers.push(extra);
    return extra;
  };
  const inject = (options: InjectOptions) => server.app.inject(options);
  const uploadDirs = async () =>
    (await readdir(uploadTmp)).filter((name) => name.startsWith('charlab-upload-'));
  const socketTo = (url: string, headers: Record<string, string> = {}) => {
    const socket = connectSocket(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: headers,
    });
    sockets.push(socket);
    return socket;
  };
  /** Resolves with 'connected' or the connect_error message. */
  const outcome = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (error) => resolve(`refused: ${error.message}`));
    });

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: false });
    scratch = await mkdtemp(join(tmpdir(), 'charlab-edges-test-'));
    // Uploads of this process go to a folder of its own, so leftovers are ours to count.
    uploadTmp = join(scratch, 'tmp');
    await mkdir(uploadTmp);
    process.env.TMPDIR = uploadTmp;
    server = buildServer(lab.engine, {
      editorDir: join(scratch, 'no-editor'),
      rateLimit: false,
      // Small numbers so a trickle is cut in seconds; the rule is the same as in production.
      bodyTimeout: { graceMs: 1_000, minBytesPerSec: 200 },
    });
    ({ port } = await server.listen('127.0.0.1', 0));
  });

  afterAll(async () => {
    process.env.TMPDIR = savedTmp;
    for (const socket of sockets) socket.close();
    for (const extra of extraServers) await extra.close();
    await server?.close();
    await lab?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  describe('Host allowlist', () => {
    it('refuses a Host that is no name of this server (DNS rebinding), on every method', async () => {
      for (const host of [
        'attacker.example',
        'attacker.example:8080',
        'localhost.attacker.example',
      ]) {
        const read = await inject({ method: 'GET', url: '/api/workflows', headers: { host } });
        expect(read.statusCode, host).toBe(403);
        expect(read.json().error.code).toBe('host_not_allowed');
      }
      const before = await lab.engine.documents.workflows.list({ limit: 1_000 });
      const write = await inject({
        method: 'POST',
        url: '/api/workflows',
        headers: { host: 'attacker.example:8080' },
        payload: { graph: graphDoc('Rebound', [{ id: 's', type: 'script-input' }], []) },
      });
      expect(write.statusCode).toBe(403);
      expect(await lab.engine.documents.workflows.list({ limit: 1_000 })).toHaveLength(
        before.length,
      );
    });

    it('answers to loopback names, IP literals and configured names', async () => {
      for (const host of [
        'localhost:8080',
        '127.0.0.1:9',
        '[::1]:8080',
        'studio.localhost',
        '10.0.0.7',
      ]) {
        const response = await inject({ method: 'GET', url: '/api/health', headers: { host } });
        expect(response.statusCode, host).toBe(200);
      }
      const configured = serverWith({
        allowedHosts: ['studio.internal', '.lab.example'],
        publicUrl: 'https://charlab.example.com',
      });
      for (const host of ['studio.internal:8080', 'eu.lab.example', 'charlab.example.com']) {
        const response = await configured.app.inject({
          method: 'GET',
          url: '/api/health',
          headers: { host },
        });
        expect(response.statusCode, host).toBe(200);
      }
      const other = await configured.app.inject({
        method: 'GET',
        url: '/api/health',
        headers: { host: 'studio.internal.attacker.example' },
      });
      expect(other.statusCode).toBe(403);
    });
  });

  describe('Origin allowlist', () => {
    const foreign = { origin: 'http://localhost:3000' };

    it('refuses state changes from another origin: body-less POSTs, JSON, multipart, PUT, DELETE', async () => {
      const workflowsBefore = await lab.engine.documents.workflows.list({ limit: 1_000 });
      const charactersBefore = await lab.engine.documents.characters.list({ limit: 1_000 });
      const form = new FormData();
      form.append('name', 'Mallory');
      form.append('images', new Blob([new Uint8Array(pngBytes(64, 64))]), 'face.png');
      const file = new FormData();
      file.append('file', new Blob([new Uint8Array(pngBytes(8, 8))]), 'a.png');
      const attempts = [
        { method: 'POST', url: '/api/templates/character-short/instantiate' },
        { method: 'POST', url: '/api/runs/run_1/rerun' },
        { method: 'POST', url: '/api/runs/run_1/cancel' },
        {
          method: 'POST',
          url: '/api/workflows',
          payload: { graph: graphDoc('X', [{ id: 's', type: 'script-input' }], []) },
        },
        { method: 'POST', url: '/api/characters', payload: form },
        { method: 'POST', url: '/api/artifacts', payload: file },
        { method: 'PUT', url: '/api/workflows/wf_1', payload: {} },
        { method: 'DELETE', url: '/api/workflows/wf_1' },
        { method: 'PATCH', url: '/api/workflows/wf_1', payload: {} },
      ] as const;
      for (const attempt of attempts) {
        for (const origin of [foreign.origin, 'null', 'https://localhost', 'http://evil.example']) {
          const response = await inject({ ...attempt, headers: { origin } });
          expect(response.statusCode, `${attempt.method} ${attempt.url} from ${origin}`).toBe(403);
          expect(response.json().error.code).toBe('origin_not_allowed');
        }
      }
      expect(await lab.engine.documents.workflows.list({ limit: 1_000 })).toHaveLength(
        workflowsBefore.length,
      );
      expect(await lab.engine.documents.characters.list({ limit: 1_000 })).toHaveLength(
        charactersBefore.length,
      );
    });

    it('lets the studio on its own origin, the Vite dev server and origin-less clients through', async () => {
      const graph = graphDoc('Mine', [{ id: 's', type: 'script-input' }], []);
      const cases: Record<string, string>[] = [
        { host: 'localhost:8080', origin: 'http://localhost:8080' },
        { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' },
        { host: '[::1]:8080', origin: 'http://[::1]:8080' },
        // Vite proxies /api with changeOrigin: the Host is the API's, the Origin Vite's.
        { host: '127.0.0.1:8080', origin: 'http://localhost:5173' },
        // The CLI and remote workers send no Origin.
        { host: '127.0.0.1:8080' },
      ];
      for (const headers of cases) {
        const response = await inject({
          method: 'POST',
          url: '/api/workflows',
          headers,
          payload: { graph },
        });
        expect(response.statusCode, JSON.stringify(headers)).toBe(201);
      }
      // A GET is no state change: a cross-origin page cannot read the answer anyway (no CORS).
      const read = await inject({ method: 'GET', url: '/api/workflows', headers: foreign });
      expect(read.statusCode).toBe(200);
    });

    it('takes configured origins (LAB_PUBLIC_URL, LAB_ALLOWED_ORIGINS) instead of the dev server', async () => {
      const configured = serverWith({
        publicUrl: 'https://charlab.example.com/',
        allowedOrigins: ['https://studio.example.org'],
      });
      const post = (origin: string) =>
        configured.app.inject({
          method: 'POST',
          url: '/api/runs/run_1/cancel',
          headers: { host: '10.0.0.5:8080', origin },
        });
      expect((await post('https://charlab.example.com')).statusCode).not.toBe(403);
      expect((await post('https://studio.example.org')).statusCode).not.toBe(403);
      expect((await post('http://localhost:5173')).statusCode).toBe(403);
    });

    it('refuses Socket.IO handshakes from a foreign origin or host, and lets the studio and workers in', async () => {
      const url = `http://127.0.0.1:${port}`;
      expect(await outcome(socketTo(url, { origin: 'http://localhost:3000' }))).toMatch(/refused/);
      expect(await outcome(socketTo(url, { origin: `http://127.0.0.1:${port}` }))).toBe(
        'connected',
      );
      expect(await outcome(socketTo(url))).toBe('connected');
      // Long-polling handshakes, which a rebound page can send same-origin with no Origin.
      const rebound = await rawExchange(
        port,
        'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: attacker.example:8080\r\nConnection: close\r\n\r\n',
      );
      expect(rebound.status).toBe(403);
      expect(rebound.text).toContain('host_not_allowed');
      const crossSite = await rawExchange(
        port,
        'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
          'Origin: http://localhost:3000\r\nConnection: close\r\n\r\n',
      );
      expect(crossSite.status).toBe(403);
      expect(crossSite.text).toContain('origin_not_allowed');
    });
  });

  it('sends a CSP that forbids framing, and X-Frame-Options DENY', async () => {
    for (const url of ['/', '/api/health', '/api/nope']) {
      const response = await inject({ method: 'GET', url });
      const csp = String(response.headers['content-security-policy']);
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(response.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('lets the studio load presigned downloads from the S3 endpoint, and only then', async () => {
    const presigned = serverWith({
      artifactRedirect: 'presigned',
      artifactOrigin: 'http://minio.internal:9000',
    });
    const csp = String(
      (await presigned.app.inject({ method: 'GET', url: '/api/health' })).headers[
        'content-security-policy'
      ],
    );
    expect(csp).toMatch(/img-src [^;]*http:\/\/minio\.internal:9000/);
    expect(csp).toMatch(/media-src [^;]*http:\/\/minio\.internal:9000/);
    const plain = String(
      (await inject({ method: 'GET', url: '/api/health' })).headers['content-security-policy'],
    );
    expect(plain).not.toContain('minio');
  });

  describe('request bodies', () => {
    it('cuts off a body trickled below the minimum rate', async () => {
      const body = Buffer.from(JSON.stringify({ graph: 'x'.repeat(2_000) }));
      const answer = await rawExchange(
        port,
        `POST /api/graphs/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        [...body].map((byte) => Buffer.from([byte])),
        250,
      );
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.text).error.code).toBe('request_timeout');
    });

    it('answers multipart without a boundary, or malformed, with 400', async () => {
      for (const url of ['/api/artifacts', '/api/characters', '/api/characters/similar']) {
        const response = await inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'multipart/form-data' },
          payload: 'x',
        });
        expect(response.statusCode, url).toBe(400);
        expect(response.json().error.code).toBe('invalid_multipart');
      }
      const garbled = await inject({
        method: 'POST',
        url: '/api/artifacts',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
        payload: '--b\r\nno header end here',
      });
      expect(garbled.statusCode).toBe(400);
      expect(garbled.json().error.code).toMatch(/^invalid_(multipart|request)$/);
    });

    for (const [label, size] of [
      ['small', 2_000],
      ['large', 300_000],
    ] as const) {
      it(`answers a multipart body truncated inside a ${label} file part with 400 and removes its temp folder`, async () => {
        const boundary = 'edgeboundary';
        const { head, bytes } = multipartParts('file', 'frame.png', pngBytes(8, 8), boundary);
        // The file part's bytes go on past the PNG, then the body just ends (no closing boundary).
        const cut = Buffer.concat([head, bytes, Buffer.alloc(size, 7)]);
        const answer = await rawExchange(
          port,
          `POST /api/artifacts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
            `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${cut.length}\r\n\r\n`,
          [cut],
        );
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.text).error.code).toBe('invalid_multipart');
        expect(await uploadDirs()).toEqual([]);
      });
    }

    it('answers an upload that stops arriving midway and removes its temp folder', async () => {
      const boundary = 'stallboundary';
      const { head, bytes, tail } = multipartParts('file', 'frame.png', pngBytes(8, 8), boundary);
      const whole = Buffer.concat([head, bytes, tail]);
      const sent = Buffer.concat([head, bytes]);
      const answer = await rawExchange(
        port,
        `POST /api/artifacts HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${whole.length}\r\n\r\n`,
        [sent],
      );
      expect(answer.status).toBe(408);
      await expect.poll(uploadDirs, { timeout: 10_000 }).toEqual([]);
    });

    it('sweeps upload folders a dead process left behind when it starts, keeping fresh ones', async () => {
      const stale = join(uploadTmp, 'charlab-upload-stale');
      const fresh = join(uploadTmp, 'charlab-upload-fresh');
      await mkdir(stale);
      await mkdir(fresh);
      const threeHoursAgo = new Date(Date.now() - 3 * 60 * 60_000);
      await utimes(stale, threeHoursAgo, threeHoursAgo);
      await serverWith({}).listen('127.0.0.1', 0);
      expect(await uploadDirs()).toEqual(['charlab-upload-fresh']);
      await rm(fresh, { recursive: true });
    });

    it('refuses JSON nested thousands of levels deep with 400 json_too_deep, before parsing', async () => {
      for (const depth of [1_000, 2_500, 4_999, 20_000]) {
        for (const url of ['/api/graphs/validate', '/api/workflows', '/api/runs']) {
          const response = await inject({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            payload: `{"graph":${nestedGraph(depth)}}`,
          });
          expect(response.statusCode, `${url} at ${depth}`).toBe(400);
          expect(response.json().error.code).toBe('json_too_deep');
        }
      }
      // Brackets inside strings are text, not nesting.
      const text = await inject({
        method: 'POST',
        url: '/api/graphs/validate',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          graph: graphDoc(
            'Text',
            [{ id: 's', type: 'script-input', params: { text: '['.repeat(5_000) } }],
            [],
          ),
        }),
      });
      expect(text.statusCode).toBe(200);
    });
  });

  describe('framework errors in our shape', () => {
    it('answers a bad URL, bad JSON, an unsupported media type and a 404 as { error: { code, message } }', async () => {
      const cases = [
        { request: { method: 'GET', url: '/%c0%ae' }, status: 400, code: 'invalid_url' },
        {
          request: { method: 'GET', url: '/api/workflows/%c0%ae' },
          status: 400,
          code: 'invalid_url',
        },
        {
          request: {
            method: 'POST',
            url: '/api/workflows',
            headers: { 'content-type': 'application/json' },
            payload: '{"graph":',
          },
          status: 400,
          code: 'invalid_json',
        },
        {
          request: {
            method: 'POST',
            url: '/api/workflows',
            headers: { 'content-type': 'application/xml' },
            payload: '<graph/>',
          },
          status: 415,
          code: 'unsupported_media_type',
        },
        { request: { method: 'GET', url: '/api/nothing-here' }, status: 404, code: 'not_found' },
      ] as const;
      for (const { request, status, code } of cases) {
        const response = await inject(request);
        expect(response.statusCode, request.url).toBe(status);
        const body = response.json();
        expect(Object.keys(body)).toEqual(['error']);
        expect(body.error.code).toBe(code);
        expect(typeof body.error.message).toBe('string');
      }
    });

    it('states the limit that applied: a reference image over 20 MB is refused as over 20 MB', async () => {
      const form = new FormData();
      form.append('name', 'Big');
      form.append('images', new Blob([new Uint8Array(21 * 1024 * 1024)]), 'big.png');
      const response = await inject({ method: 'POST', url: '/api/characters', payload: form });
      expect(response.statusCode).toBe(413);
      const { message } = response.json().error as { message: string };
      // 20 MiB, written in decimal or binary megabytes: never the 256 MB artifact limit.
      expect(message).toMatch(/over the 2[01] MB limit/);
      expect(message).not.toContain(formatBytes(256 * 1024 * 1024));
    });
  });

  describe('Socket.IO limits', () => {
    it('accepts exactly the run:watch limit of 1,000 concurrent watches on one socket', async () => {
      // Stored runs with no workflow behind them: watching reads only the store.
      const ids = Array.from({ length: 1_000 }, (_, i) => `run_edge_${i}`);
      const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
      for (const id of ids) {
        await lab.engine.documents.runs.put({
          id,
          ownerId: 'local',
          createdAt: at,
          updatedAt: at,
          graph: graphDoc('Watched', [{ id: 's', type: 'script-input' }], []),
          plan: {} as RunRecord['plan'],
          snapshot: emptySnapshot(id, ['s']),
          temporalWorkflowId: id,
        } as unknown as RunRecord);
      }
      const socket = socketTo(`http://127.0.0.1:${port}`);
      expect(await outcome(socket)).toBe('connected');
      const acks = (await Promise.all(
        ids.map((runId) => socket.timeout(60_000).emitWithAck('run:watch', { runId })),
      )) as { runId?: string; error?: { code: string } }[];
      const codes = acks.map((ack) => ack.error?.code ?? 'watching');
      expect(codes.filter((c) => c === 'watching')).toHaveLength(50);
      expect(codes.filter((c) => c === 'too_many_watches')).toHaveLength(950);
    });

    it('caps the sockets one client address may hold open', async () => {
      const capped = serverWith({ maxSocketsPerClient: 3 });
      const { url } = await capped.listen('127.0.0.1', 0);
      const first = await Promise.all([1, 2, 3, 4, 5].map(() => outcome(socketTo(url))));
      expect(first.filter((o) => o === 'connected')).toHaveLength(3);
      expect(first.filter((o) => o.startsWith('refused'))).toHaveLength(2);
      const refused = await rawExchange(
        Number(new URL(url).port),
        'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('too_many_sockets');
    });
  });
});

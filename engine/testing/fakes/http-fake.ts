/**
 * The shared base of the provider fakes: an HTTP server on 127.0.0.1 and a free port that
 * records every request (method, path, query, headers, body) so tests can assert on the wire.
 * Test-only code.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

export type FakeHandler = (
  request: RecordedRequest,
  response: ServerResponse,
) => void | Promise<void>;

/** A started fake; `url` has no trailing slash. */
export class FakeHttpServer {
  private constructor(
    readonly server: Server,
    readonly url: string,
    readonly requests: RecordedRequest[],
    private readonly route: { handler: FakeHandler },
  ) {}

  /** Where requests go after being recorded; replaceable so a fake can wire itself in after start. */
  get handler(): FakeHandler {
    return this.route.handler;
  }

  set handler(handler: FakeHandler) {
    this.route.handler = handler;
  }

  /** Starts a server on 127.0.0.1 and a free port; requests are recorded, then handled. */
  static async start(handler: FakeHandler = notFound): Promise<FakeHttpServer> {
    const requests: RecordedRequest[] = [];
    const route = { handler };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const body = Buffer.concat(chunks);
        const recorded: RecordedRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body,
          json: parseJson(body),
        };
        requests.push(recorded);
        Promise.resolve(route.handler(recorded, res)).catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: String(error) });
          else res.destroy();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new FakeHttpServer(server, `http://127.0.0.1:${port}`, requests, route);
  }

  /** The recorded requests for one method and path. */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Writes a JSON response. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Writes raw bytes with a content type. */
export function sendBytes(
  response: ServerResponse,
  status: number,
  bytes: Buffer,
  contentType: string,
): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
  response.end(bytes);
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function notFound(_request: RecordedRequest, response: ServerResponse): void {
  sendJson(response, 404, { error: 'not found' });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

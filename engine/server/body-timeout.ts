/**
 * A request body must keep arriving at a minimum average rate, or the connection is cut.
 *
 * Node's own timers cannot tell a slow link from an attack: `requestTimeout` caps the whole
 * request (a 256 MB upload over a 2 Mbit/s uplink takes 17 minutes, so it must be long) and the
 * idle timeout resets on every byte (a body trickled at 1 byte / 10 s never idles). So, like
 * Apache's mod_reqtimeout (`body=20,MinRate=500`), a body gets a grace period and then one more
 * second for every `minBytesPerSec` bytes received: a slow but honest upload keeps extending
 * its deadline, a trickle falls behind it and gets a 408 `request_timeout` (when nothing has
 * been answered yet) and a closed connection. The socket's byte counter is read on a timer, so
 * the body stream itself is never touched (Fastify's parser or busboy reads it).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface BodyTimeoutOptions {
  /** Time a body may take before the rate applies. */
  graceMs: number;
  /** Average bytes per second a body must keep up after the grace period. */
  minBytesPerSec: number;
}

/** mod_reqtimeout's defaults: 20 s, then 500 bytes/s (4 kbit/s: any real link does far better). */
export const DEFAULT_BODY_TIMEOUT: BodyTimeoutOptions = { graceMs: 20_000, minBytesPerSec: 500 };

/** Installs the rate rule on every request that has a body. */
export function installBodyTimeout(app: FastifyInstance, options: BodyTimeoutOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!hasBody(request)) return;
    watchBody(request, reply, options);
  });
}

function hasBody(request: FastifyRequest): boolean {
  const { headers } = request.raw;
  return (
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  );
}

function watchBody(request: FastifyRequest, reply: FastifyReply, options: BodyTimeoutOptions) {
  const raw = request.raw;
  const socket = raw.socket;
  const started = Date.now();
  const startBytes = socket.bytesRead;
  let timer: NodeJS.Timeout | undefined;

  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const deadline = () =>
    started + options.graceMs + ((socket.bytesRead - startBytes) / options.minBytesPerSec) * 1000;
  const check = () => {
    timer = undefined;
    if (raw.complete || socket.destroyed) return;
    const left = deadline() - Date.now();
    if (left > 0) {
      timer = setTimeout(check, left);
      return;
    }
    cutOff(request, reply, options);
  };
  raw.once('end', stop);
  raw.once('close', stop);
  reply.raw.once('close', stop);
  timer = setTimeout(check, options.graceMs);
}

function cutOff(request: FastifyRequest, reply: FastifyReply, options: BodyTimeoutOptions) {
  // Destroying the request (not just its socket) ends it for whoever reads the body: once a
  // response has been sent, Node no longer aborts the request when its socket closes, and a
  // multipart handler would wait for the rest of the file forever.
  const raw = request.raw;
  if (reply.sent || reply.raw.headersSent) {
    raw.destroy();
    return;
  }
  reply.raw.once('finish', () => raw.destroy());
  void reply
    .code(408)
    .header('connection', 'close')
    .type('application/json; charset=utf-8')
    .send({
      error: {
        code: 'request_timeout',
        message:
          `the request body arrived too slowly (under ${options.minBytesPerSec} bytes/s after ` +
          `${Math.round(options.graceMs / 1000)} s), so the server stopped waiting: check the connection and send it again`,
      },
    });
}

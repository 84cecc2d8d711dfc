/**
 * The one kind of answer that must carry a secret: a freshly minted Character Lab token (a
 * share link, an API token, an invite) shown once to the user who asked for it. The server's
 * last-line redactor (app.ts onSend, secrets.ts) blanks every `"token": "…"` field by shape,
 * which is right for anything that could quote a provider's credential and wrong here: the
 * user would get `[redacted]` and a link nobody can open. Such answers are sent as bytes, which
 * the redactor leaves alone, so they must hold only what the route built itself (the minted
 * token and its record), never provider output.
 */
import type { FastifyReply } from 'fastify';

export function sendMintedSecret(
  reply: FastifyReply,
  status: number,
  body: Record<string, unknown>,
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(Buffer.from(JSON.stringify(body), 'utf8'));
}

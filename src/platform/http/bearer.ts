/** The bearer-token guard of mutating admin routes. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './problems';

/**
 * preHandler guarding mutating admin routes with `Authorization: Bearer <TELELAB_API_TOKEN>`.
 * Without a configured token every request passes (local use); the README says so.
 */
export function bearerGuard(token: string | undefined) {
  const expected = token ? Buffer.from(token) : null;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!expected) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const given = m ? Buffer.from(m[1]!.trim()) : null;
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(
        reply,
        401,
        given ? 'INVALID_TOKEN' : 'MISSING_TOKEN',
        given
          ? 'The bearer token is not valid'
          : 'This route needs Authorization: Bearer <TELELAB_API_TOKEN>',
      );
    }
  };
}

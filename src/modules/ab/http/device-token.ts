/**
 * The Device-Token header, checked as the original task fixes it: missing or empty answers 400,
 * anything else invalid 401 with `WWW-Authenticate: Device-Token`. Errors are never cached.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError } from '../../../platform/errors';

const DEVICE_TOKEN = /^[A-Za-z0-9._~:-]{8,128}$/;

/** The request's device token; throws the input error the error handler renders otherwise. */
export function deviceToken(req: FastifyRequest, reply: FastifyReply): string {
  const raw = req.headers['device-token'];
  if (raw === undefined || raw === '') {
    reply.header('cache-control', 'no-store');
    throw new ServiceError('AB_DEVICE_TOKEN_MISSING', 'invalid_input', 'header Device-Token: required');
  }
  if (typeof raw !== 'string' || !DEVICE_TOKEN.test(raw)) {
    reply.header('cache-control', 'no-store').header('www-authenticate', 'Device-Token');
    throw new ServiceError(
      'AB_DEVICE_TOKEN_INVALID',
      'unauthorized',
      'header Device-Token: must be 8-128 characters of A-Z a-z 0-9 . _ ~ : -',
    );
  }
  return raw;
}

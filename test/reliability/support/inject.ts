/**
 * Sends one request through `app.http.inject` and reads the answer with a deadline. Streams
 * (server-sent events) are cut once their head arrived: their status and headers are the answer.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import type { TelelabApp } from '../../../src/app';

export interface Answer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /** The route streams (text/event-stream); body holds what came before the cut. */
  streamed: boolean;
}

export class Hang extends Error {}

export async function send(
  app: TelelabApp,
  req: { method: string; url: string; headers?: Record<string, string>; payload?: Buffer | string },
  timeoutMs = 15_000,
): Promise<Answer> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Hang(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const res = await Promise.race([
      app.http.inject({
        method: req.method as 'GET',
        url: req.url,
        headers: req.headers ?? {},
        ...(req.payload !== undefined ? { payload: req.payload } : {}),
        payloadAsStream: true,
        signal: abort.signal,
      }),
      deadline,
    ]);
    const type = String(res.headers['content-type'] ?? '');
    if (type.startsWith('text/event-stream')) {
      abort.abort();
      return { status: res.statusCode, headers: res.headers, body: Buffer.alloc(0), streamed: true };
    }
    const chunks: Buffer[] = [];
    const body = (async () => {
      for await (const c of res.stream()) chunks.push(c as Buffer);
    })();
    await Promise.race([body, deadline]);
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), streamed: false };
  } finally {
    clearTimeout(timer);
  }
}

/** Why an answer breaks the HTTP contract (5xx, or a 4xx that is not problem+json with a detail). */
export function contractViolation(a: Answer): string | null {
  if (a.status >= 500) return `status ${a.status}`;
  if (a.status < 400) return null;
  const type = String(a.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) return `${a.status} with content-type '${type}'`;
  let problem: { detail?: unknown; status?: unknown };
  try {
    problem = JSON.parse(a.body.toString('utf8'));
  } catch {
    return `${a.status} problem+json body is not JSON`;
  }
  if (typeof problem.detail !== 'string' || problem.detail.trim() === '')
    return `${a.status} problem without a detail`;
  if (problem.status !== a.status) return `${a.status} problem says status ${String(problem.status)}`;
  return null;
}

/** Sends one request through `app.http.inject` and expects a 4xx (bad input, never a 5xx); returns it. */
export async function expectClientError(app: TelelabApp, method: string, url: string, payload?: unknown) {
  const res = await app.http.inject({
    method: method as 'GET',
    url,
    ...(payload ? { payload: payload as object } : {}),
  });
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, res.body).toBeLessThan(500);
  return res;
}

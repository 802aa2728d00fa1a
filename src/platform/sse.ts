/**
 * Server-sent events for the dashboard: a heartbeat keeps proxies from closing idle streams, and
 * the subscription ends when the client goes away or the server closes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export type SseSend = (event: string, data: unknown) => void;

export function sseStream(
  req: FastifyRequest,
  reply: FastifyReply,
  subscribe: (send: SseSend) => () => void,
  heartbeatMs = 15_000,
): FastifyReply {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  const send: SseSend = (event, data) => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const unsubscribe = subscribe(send);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
  const end = () => {
    clearInterval(heartbeat);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  const streams = (req.server as unknown as { sseStreams?: Set<() => void> }).sseStreams;
  streams?.add(end);
  req.raw.on('close', () => {
    streams?.delete(end);
    end();
  });
  return reply;
}

/** Lets `app.close()` end open streams instead of waiting for clients that never hang up. */
export function enableSse(app: import('fastify').FastifyInstance): void {
  const streams = new Set<() => void>();
  app.decorate('sseStreams', streams);
  app.addHook('preClose', async () => {
    for (const end of streams) end();
    streams.clear();
  });
}

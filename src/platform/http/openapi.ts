/** OpenAPI 3.1 at /openapi.json and Swagger UI at /docs, with the headers its HTML pages carry. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from './server';

export async function serveOpenApi(app: App, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'telelab',
        version,
        description:
          'Experiments and telemetry: latency/load experiments, device telemetry, A/B assignment, ' +
          'sensor control loop, access-log ingest.\n\n' +
          'Errors are application/problem+json; a validation error names the field and says what to type. ' +
          'Unknown query parameters: a route that takes query parameters (periods, filters, cursors, ' +
          'limits) answers 400 naming the unknown one; a route that takes none (A/B assignment, ingest) ' +
          'ignores the query string, so cache busters pass.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
  });
  // Swagger UI's own CSP for its bundled assets, plus the headers every HTML page here carries.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // telelab speaks plain HTTP: `upgrade-insecure-requests` would send the page's assets to https on
    // any host but localhost and leave /docs blank; Swagger UI also sets inline styles.
    transformStaticCSP: (header) =>
      header
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d && !d.startsWith('upgrade-insecure-requests'))
        .map((d) =>
          d.startsWith('style-src') && !d.includes("'unsafe-inline'") ? `${d} 'unsafe-inline'` : d,
        )
        .join('; '),
  });
  app.addHook('onSend', async (req, reply) => {
    if (req.url === '/docs' || req.url.startsWith('/docs/')) {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
    }
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

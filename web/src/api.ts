/**
 * The dashboard's only way to talk to the server: same-origin fetch, problem+json errors turned into
 * ApiError with the server's `detail`, and the optional admin token for mutating routes.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The server has no such route: the module is not part of this build (yet). */
  get notAvailable(): boolean {
    return this.status === 404 && this.code === 'ROUTE_NOT_FOUND';
  }
}

const TOKEN_KEY = 'telelab.apiToken';

export function apiToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setApiToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled (private mode): the token lasts until the page is reloaded.
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function send(path: string, opts: RequestOptions, accept: string): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { accept, ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const token = apiToken();
  if (token && method !== 'GET') headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
      signal: opts.signal ?? null,
      // Live views: never answer from the HTTP cache (some routes allow caching for other clients).
      cache: 'no-store',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', `Cannot reach the server (${(e as Error).message})`);
  }
  if (!res.ok) throw await toApiError(res);
  return res;
}

async function toApiError(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let detail = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && typeof body === 'object') {
      if (typeof body.code === 'string') code = body.code;
      if (typeof body.detail === 'string') detail = body.detail;
      else if (typeof body.message === 'string') detail = body.message;
    }
  } catch {
    // Not JSON: keep the status text.
  }
  // Only the API token's 401 (WWW-Authenticate: Bearer); a bad Device-Token is the A/B client's own.
  const bearer = /^bearer/i.test(res.headers.get('www-authenticate') ?? '');
  if (res.status === 401 && bearer && !apiToken()) detail += ' (set the API token at the bottom of the page)';
  return new ApiError(res.status, code, detail);
}

/** JSON in, JSON out; throws ApiError with the server's explanation on any non-2xx answer. */
export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts, 'application/json');
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export async function apiText(path: string, opts: RequestOptions = {}): Promise<string> {
  return (await send(path, opts, 'text/plain')).text();
}

/** `path?k=v&...`, leaving out empty values. */
export function withQuery(path: string, query: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.status ? `${e.message} (${e.status} ${e.code})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

interface OpenApi {
  paths?: Record<string, Record<string, { tags?: string[] }>>;
}

export interface RouteTable {
  /** `GET /devices/{device_id}/data` style keys. */
  has(method: string, path: string): boolean;
  /** The module (OpenAPI tag) serving a Fastify route url such as `/devices/:device_id/data`. */
  moduleOf(fastifyUrl: string): string | null;
  /** GET paths a module documents, e.g. to find its event stream. */
  getPaths(module: string): string[];
  modules: string[];
}

let routes: Promise<RouteTable> | null = null;

/**
 * The server's routes, from its OpenAPI document: pages ask it whether their module is served before
 * calling it, so a missing module shows a message instead of a string of failed requests.
 */
export function routeTable(): Promise<RouteTable> {
  routes ??= api<OpenApi>('/openapi.json').then(
    (doc) => {
      const keys = new Set<string>();
      const tagOf = new Map<string, string>();
      const gets = new Map<string, string[]>();
      const modules = new Set<string>();
      for (const [path, ops] of Object.entries(doc.paths ?? {})) {
        for (const [method, op] of Object.entries(ops)) {
          keys.add(`${method.toUpperCase()} ${path}`);
          const tag = op.tags?.[0];
          if (tag) {
            tagOf.set(path, tag);
            modules.add(tag);
            if (method === 'get') gets.set(tag, [...(gets.get(tag) ?? []), path]);
          }
        }
      }
      return {
        has: (method, path) => keys.has(`${method.toUpperCase()} ${path}`),
        moduleOf: (url) => tagOf.get(url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')) ?? null,
        getPaths: (module) => gets.get(module) ?? [],
        modules: [...modules].sort(),
      };
    },
    (e) => {
      routes = null;
      throw e;
    },
  );
  return routes;
}

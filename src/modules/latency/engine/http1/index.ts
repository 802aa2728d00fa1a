/** The load engine's HTTP/1.1 client (pool.ts explains why it exists). */
export { type Http1Handler, Http1Pool, type Http1PoolOptions } from './pool';
export { type Http1Request, serializeRequest } from './request';

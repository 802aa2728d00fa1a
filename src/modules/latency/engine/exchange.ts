import { performance } from 'node:perf_hooks';
import type { Http1Handler } from './http1';

/** Where an exchange reports: the run. */
export interface ExchangeOwner {
  /** A closed-model virtual user's next request (after its interval). */
  sendClosed(x: Exchange): void;
  /** The request ended (err: no response). */
  complete(x: Exchange, err: Error | null): void;
}

/**
 * One in-flight request. Objects are reused: one per virtual user (closed model) or from a free list
 * (open model).
 */
export class Exchange implements Http1Handler {
  /** Latency origin: dispatch time (closed) or scheduled time (open). */
  startedAt = 0;
  sentAt = 0;
  status = 0;
  generation = 0;
  /** The stage this request was sent in: its result is counted there, even if it ends in the next. */
  stage = 0;
  timer: NodeJS.Timeout | null = null;
  readonly fire = () => this.owner.sendClosed(this);
  constructor(private readonly owner: ExchangeOwner) {}
  onSent(): void {
    this.sentAt = performance.now();
  }
  onResponse(status: number): void {
    this.status = status;
    this.owner.complete(this, null);
  }
  onError(err: Error): void {
    this.owner.complete(this, err);
  }
}

import { Component, type ComponentType, type ErrorInfo, type ReactNode } from 'react';
import { ApiError, errorMessage, type RouteTable } from '../api';
import { useRoutes } from '../hooks';

/** A request's error, worded for the user; a missing route reads as "not available". */
export function ErrorMessage({ error, what }: { error: unknown; what?: string }) {
  if (!error) return null;
  if (error instanceof ApiError && error.notAvailable) {
    return <NotAvailable what={what ?? 'This feature'} />;
  }
  return (
    <p className="error" role="alert">
      {what ? `${what}: ` : ''}
      {errorMessage(error)}
    </p>
  );
}

export function NotAvailable({ what, route }: { what: string; route?: string }) {
  return (
    <p className="notice" role="status">
      {what} is not available on this server{route ? ` (no ${route} route)` : ''}. The module may not be
      installed or enabled.
    </p>
  );
}

/**
 * A module's page that renders `Page` once the route table lists the module's main `route`
 * ("GET /path"), so the page never asks a server that lacks the module; meanwhile "Loading…", or the
 * module's absence.
 */
export function modulePage(what: string, route: string, Page: ComponentType<{ routes: RouteTable }>) {
  const [method = '', path = ''] = route.split(' ');
  return function ModulePage() {
    const { routes, error } = useRoutes();
    if (error) return <ErrorMessage error={error} what="Route table" />;
    if (!routes) return <Loading />;
    if (!routes.has(method, path)) return <NotAvailable what={what} route={route} />;
    return <Page routes={routes} />;
  };
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" aria-busy="true">
      {what}…
    </p>
  );
}

export function Card({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <section className="card" aria-label={title}>
      <header className="card-head">
        <h2>{title}</h2>
        {actions && <div className="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Badge({
  tone,
  children,
}: {
  tone: 'ok' | 'bad' | 'warn' | 'info' | 'muted';
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: string }) {
  return (
    <div className="stat" title={hint}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}

interface BoundaryState {
  error: Error | null;
}

/** Keeps a crashing page from blanking the dashboard: shows what broke and offers a retry. */
export class ErrorBoundary extends Component<{ children: ReactNode }, BoundaryState> {
  override state: BoundaryState = { error: null };

  static getDerivedStateFromError(error: Error): BoundaryState {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.warn('dashboard page crashed', error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="card" role="alert">
        <h2>This page failed to render</h2>
        <p className="error">{this.state.error.message}</p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}

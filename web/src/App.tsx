import { type ComponentType, useEffect, useState } from 'react';
import { apiToken, setApiToken } from './api';
import { ErrorBoundary } from './components/ui';
import { AbPage } from './modules/ab/Ab';
import { ControlPage } from './modules/control/Control';
import { DevicesPage } from './modules/devices/Devices';
import { LatencyPage } from './modules/latency/Latency';
import { LogsPage } from './modules/logs/Logs';
import { OverviewPage } from './Overview';

interface PageDef {
  path: string;
  title: string;
  Page: ComponentType;
}

export const PAGES: PageDef[] = [
  { path: '', title: 'Overview', Page: OverviewPage },
  { path: 'latency', title: 'Latency', Page: LatencyPage },
  { path: 'devices', title: 'Devices', Page: DevicesPage },
  { path: 'ab', title: 'A/B', Page: AbPage },
  { path: 'control', title: 'Control', Page: ControlPage },
  { path: 'logs', title: 'Logs', Page: LogsPage },
];

// Hash routing: the server serves one index.html at `/` and needs no fallback for client routes.
function currentPath(): string {
  return window.location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
}

function useHashPath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onChange = () => setPath(currentPath());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return path;
}

export function App() {
  const path = useHashPath();
  const page = PAGES.find((p) => p.path === path);
  useEffect(() => {
    document.title = page ? `${page.title} · telelab` : 'telelab';
  }, [page]);

  return (
    <div className="shell">
      <header className="top">
        <a className="brand" href="#/">
          telelab
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.path} href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {page ? (
          <ErrorBoundary key={page.path}>
            <h1>{page.title}</h1>
            <page.Page />
          </ErrorBoundary>
        ) : (
          <div className="card" role="alert">
            <h1>Page not found</h1>
            <p>
              There is no page <code>#{path}</code>. <a href="#/">Go to the overview</a>.
            </p>
          </div>
        )}
      </main>
      <Footer />
    </div>
  );
}

function Footer() {
  const [token, setToken] = useState(apiToken);
  const [saved, setSaved] = useState(false);
  return (
    <footer className="foot">
      <span>
        <a href="/docs">API docs</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/metrics">Metrics</a>
      </span>
      <form
        className="token"
        onSubmit={(e) => {
          e.preventDefault();
          setApiToken(token.trim());
          setSaved(true);
        }}
      >
        <label htmlFor="api-token">API token (for admin actions)</label>
        <input
          id="api-token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => {
            setToken(e.target.value);
            setSaved(false);
          }}
        />
        <button type="submit">Save</button>
        {saved && <span role="status">Saved</span>}
      </form>
    </footer>
  );
}

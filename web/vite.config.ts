import { defineConfig } from 'vite';

// The dashboard is built into web/dist and served by the API server itself (src/platform/web.ts), so
// every asset is bundled (no CDN, works offline) and every request goes to the same origin.
// Build: `vite build web`; develop: `vite web` next to a running `telelab serve` on :8000.
export default defineConfig(({ mode }) => {
  // From the mode, not from NODE_ENV: under a test runner NODE_ENV is 'test', which would otherwise
  // select React's development build and Oxc's development JSX (`jsxDEV`), which do not match.
  const dev = mode === 'development';
  return {
    base: '/',
    define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
    // Vite 8 transforms TSX with Oxc; React's automatic runtime needs no plugin for a production build.
    oxc: { jsx: { runtime: 'automatic', importSource: 'react', development: dev } },
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      // Inlined assets would need `data:` sources in the CSP; keep them as hashed files.
      assetsInlineLimit: 0,
    },
    // Everything that is not the dashboard's own source goes to the API server.
    server: { proxy: { '^/(?!$|index\\.html|src/|@|node_modules/).+': 'http://127.0.0.1:8000' } },
  };
});

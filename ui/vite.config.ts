import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The Go server (stride serve) owns /api, /healthz, /readyz and /docs; in development the
// Vite dev server proxies those to it so the UI runs against the real back end.
const backend = process.env.STRIDE_BACKEND ?? 'http://127.0.0.1:8080';
const proxied = ['/api', '/healthz', '/readyz', '/docs'];

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    // dist/.gitkeep is tracked so `go build` works before the UI is built; the build
    // script re-creates it after Vite empties the folder.
    emptyOutDir: true,
    // Pages are split with React.lazy; the largest chunks are the shared antd/React core
    // (~520 kB) and the record form (RJSF, ~450 kB), which loads only on form pages.
    chunkSizeWarningLimit: 600,
  },
});

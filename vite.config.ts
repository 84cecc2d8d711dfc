/**
 * Builds the studio (editor/) into dist/editor, which the API server serves in production.
 * In development `npm run dev` serves it with a proxy to the API server on :8080 (HTTP and
 * Socket.IO), so the browser always talks to one origin, as in production.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));
const apiTarget = process.env.LAB_API_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'editor',
  plugins: [react()],
  build: {
    outDir: '../dist/editor',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1_000,
  },
  server: {
    // The editor imports browser-safe engine modules (ports, events, canonical JSON).
    fs: { allow: [repoRoot] },
    proxy: {
      '/api': { target: apiTarget, changeOrigin: true },
      '/socket.io': { target: apiTarget, ws: true, changeOrigin: true },
    },
  },
});

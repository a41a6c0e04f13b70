import { defineConfig } from 'vite';

// Relative asset paths, so dist/ works from any sub-path (a docs site folder, a file server).
export default defineConfig({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
  preview: { host: '127.0.0.1', port: 4173 },
});

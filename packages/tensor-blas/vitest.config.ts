import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The op suite imports @joule/tensor's TypeScript source; aliasing the package to the same source
// gives the backend and the suite one engine instance.
export default defineConfig({
  resolve: {
    alias: {
      '@joule/tensor': fileURLToPath(new URL('../tensor/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
  },
});

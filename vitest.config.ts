import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Tests import workspace packages from source, so a test run never depends on a stale build.
// GPU test files run one at a time: llvmpipe already spreads each device over every core,
// and several devices in parallel only fight for the same two cores (DESIGN.md section 9).
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@mtv\/kernels\/reference$/, replacement: src('./packages/kernels/src/reference/index.ts') },
      { find: /^@mtv\/kernels$/, replacement: src('./packages/kernels/src/index.ts') },
      { find: /^@mtv\/model$/, replacement: src('./packages/model/src/index.ts') },
      { find: /^@mtv\/mtv$/, replacement: src('./packages/mtv/src/index.ts') },
      { find: /^@mtv\/toy$/, replacement: src('./packages/toy/src/index.ts') },
      { find: /^@mtv\/coordinator$/, replacement: src('./packages/coordinator/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { EGL_PLATFORM: 'surfaceless' },
  },
});

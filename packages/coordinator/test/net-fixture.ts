// Shared by the loopback network tests (net-client, net-server): the fleet token, a CPU worker's
// capabilities, and per-test teardown.
import { afterEach } from 'vitest';
import type { Capabilities } from '../src/index.js';

export const TOKEN = 'correct-horse-battery-staple-42';

/** A llvmpipe (CPU) worker offering `kinds`, on model 'sha256:feed'. */
export const cpuCapabilities = (kinds: Capabilities['kinds']): Capabilities => ({
  adapter: { vendor: 'mesa', architecture: 'llvmpipe', device: '', description: 'llvmpipe', cpu: true },
  backend: 'opengles',
  threads: 2,
  modelHash: 'sha256:feed',
  maxBatch: 32,
  kinds,
});

/** A list the test pushes teardown steps onto; after each test they run in reverse order. */
export function cleanupAfterEach(): (() => Promise<void> | void)[] {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  return cleanup;
}

import type { TurnBackend } from '../../src/turns/turn-backend.js';

/**
 * Hides a backend's `appendSync`, so a running turn writes through `append` and awaits it: the
 * path every store outside the process (Redis, a host's own) takes, tested over a memory backend
 * whose `append` a test can hold or fail.
 */
export function asyncAppendOnly<T extends TurnBackend>(backend: T): T {
  Object.defineProperty(backend, 'appendSync', { value: undefined });
  return backend;
}

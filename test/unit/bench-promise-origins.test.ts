import { describe, expect, it } from 'vitest';
import { originOf } from '../../bench/lib/promise-counter.js';

describe('bench promise origins', () => {
  it('names the first two frames that are not the hook or Node promise plumbing, without paths', () => {
    const stack = [
      'Error',
      '    at AsyncHook.init (file:///work/bench/.build/server.mjs:13319:21)',
      '    at emitInitScript (node:internal/async_hooks:504:3)',
      '    at new Promise (<anonymous>)',
      '    at BodyBatches.next (file:///work/bench/.build/server.mjs:2806:5)',
      '    at streamProviderCall (file:///work/bench/.build/server.mjs:3498:30)',
      '    at async #turn (file:///work/bench/.build/server.mjs:6619:7)',
    ].join('\n');
    expect(originOf(stack)).toBe('BodyBatches.next server.mjs:2806 < streamProviderCall server.mjs:3498');
  });

  it('says so when no JavaScript frame made the promise', () => {
    expect(originOf('Error\n    at AsyncHook.init (file:///x/promise-counter.ts:20:5)')).toBe('(no JavaScript frame)');
  });
});

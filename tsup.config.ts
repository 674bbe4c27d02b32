import { defineConfig } from 'tsup';
import { ENTRIES } from './scripts/entries.js';

export default defineConfig({
  entry: ENTRIES,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Shared chunks in CJS too, so every entry sees one copy of the error classes.
  splitting: true,
  treeshake: true,
});

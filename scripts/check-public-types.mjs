// Fails when a declaration marked `@internal` reaches the built type declarations: a public
// signature then names an internal helper, and hosts would come to depend on it.
import { readdirSync, readFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const declarations = readdirSync(dist).filter((file) => file.endsWith('.d.ts') || file.endsWith('.d.cts'));
const problems = declarations.filter((file) => readFileSync(new URL(file, dist), 'utf8').includes('@internal'));
if (declarations.length === 0) problems.push('no .d.ts in dist: run `npm run build` first');
if (problems.length > 0) {
  console.error(`check-public-types: @internal declarations in\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`check-public-types: no @internal declaration in ${declarations.length} declaration files`);

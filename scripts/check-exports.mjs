// Fails when the build's entries and package.json's `exports` map disagree, or a file is missing.
import { existsSync, readFileSync } from 'node:fs';
import { ENTRIES } from './entries.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const problems = [];
const subpaths = Object.keys(pkg.exports).filter((key) => key !== './package.json');
const expected = Object.keys(ENTRIES).map((name) => (name === 'index' ? '.' : `./${name}`));
for (const path of expected) if (!subpaths.includes(path)) problems.push(`exports lacks ${path}`);
for (const path of subpaths) if (!expected.includes(path)) problems.push(`exports has ${path}, which is not built`);
for (const [path, conditions] of Object.entries(pkg.exports)) {
  if (typeof conditions === 'string') continue;
  for (const [condition, target] of Object.entries(conditions)) {
    for (const file of Object.values(target)) {
      if (!existsSync(new URL(`../${file}`, import.meta.url)))
        problems.push(`${path} ${condition}: ${file} is missing`);
    }
  }
}
if (problems.length > 0) {
  console.error(`check-exports: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`check-exports: ${expected.length} entries match the exports map and exist`);

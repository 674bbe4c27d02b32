/**
 * Where a profile frame's code comes from, for grouping a CPU or heap profile: a package name,
 * a folder of this repo (`src/llm`, `bench`, `test`), a Node built-in, or a V8 pseudo-frame.
 */
export function frameOrigin(url: string): string {
  if (url === '') return '(native / V8)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  if (src >= 0) return `src/${url.slice(src + 5).split('/')[0]}`;
  const bench = url.indexOf('/bench/');
  if (bench >= 0) return 'bench';
  const test = url.indexOf('/test/');
  if (test >= 0) return 'test';
  return url;
}

/** A frame's short name: the function, and its file from the package or repo folder on, with the line. */
export function frameName(callFrame: { functionName: string; url: string; lineNumber: number }): string {
  const { functionName, url, lineNumber } = callFrame;
  const short = url.replace(/^.*\/(node_modules|src|bench|test)\//, '$1/');
  return `${functionName || '(anonymous)'}  ${short}${url ? `:${lineNumber + 1}` : ''}`;
}

/**
 * The URL of a compiled worker module, `relative` to the module at `importMetaUrl` (pass
 * `import.meta.url`). Node cannot start a worker from TypeScript, so when the calling module itself
 * runs from its `.ts` source (vitest), the build's copy under `dist/` is used: `npm test` builds
 * before it runs the tests. `depth` is how many folders the caller sits below the project root.
 */
export function workerModuleUrl(importMetaUrl: string, relative: string, depth: number): URL {
  const here = new URL(importMetaUrl);
  if (!here.pathname.endsWith('.ts')) return new URL(relative, here);
  const root = new URL('../'.repeat(depth), here);
  const fromRoot = new URL(relative, here).pathname.slice(root.pathname.length);
  return new URL(`dist/${fromRoot}`, root);
}

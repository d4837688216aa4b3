import Module from 'node:module';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CoreApi } from './core-api.js';

const CORE_MODULE = '@azure/functions-core';

/**
 * Makes `require('@azure/functions-core')` return the runtime's core API, the way the Functions
 * worker does (it patches `Module.prototype.require` before loading the app). Must run before the
 * app, and so before @azure/functions, is first loaded in this process.
 */
export function installCoreModule(core: CoreApi): void {
  const moduleObject = core.module();
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  const original = proto.require;
  proto.require = function patchedRequire(this: unknown, id: string): unknown {
    return id === CORE_MODULE ? moduleObject : original.call(this, id);
  };
}

/**
 * Imports the app's entry points as the worker does: package.json `main`, which may be a glob
 * (`dist/functions/*.js`). Only a `*` in the file name part is supported, which is what Azure's
 * templates and this project use.
 */
export async function loadApp(appRoot: string, core: CoreApi): Promise<string[]> {
  const pkg = JSON.parse(await readFile(path.join(appRoot, 'package.json'), 'utf8')) as { main?: unknown };
  if (typeof pkg.main !== 'string' || pkg.main === '') {
    throw new Error(`package.json in ${appRoot} has no "main" entry point.`);
  }
  const files = await expandMain(appRoot, pkg.main);
  if (files.length === 0) {
    throw new Error(`package.json "main" (${pkg.main}) matches no file: run "npm run build" first.`);
  }
  for (const file of files) {
    await import(pathToFileURL(file).href);
  }
  core.markLoaded();
  return files;
}

async function expandMain(appRoot: string, main: string): Promise<string[]> {
  const absolute = path.resolve(appRoot, main);
  const dir = path.dirname(absolute);
  const pattern = path.basename(absolute);
  if (dir.includes('*')) {
    throw new Error(`package.json "main" (${main}): a wildcard is only supported in the file name.`);
  }
  if (!pattern.includes('*')) {
    return [absolute];
  }
  const matcher = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('[^/]*')}$`);
  const names = await readdir(dir).catch(() => []);
  return names.filter((name) => matcher.test(name)).sort().map((name) => path.join(dir, name));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Settings } from './settings.js';

const OVERRIDE_PREFIX = 'azurefunctionsjobhost__';

/** The app's host.json as the host sees it. */
export interface HostJson {
  /** The value at a path of keys, matched case-insensitively as .NET configuration does; undefined if absent. */
  get(...keys: string[]): unknown;
}

/**
 * Reads the app's host.json (none: every option at its default) with the host's app-setting
 * overrides applied: a setting `AzureFunctionsJobHost__extensions__queues__batchSize` replaces
 * `extensions.queues.batchSize`, as in Azure (values from settings are strings, as there).
 *
 * @throws Error when host.json exists but is not a JSON object.
 */
export async function readHostJson(settings: Settings): Promise<HostJson> {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const file = path.join(path.resolve(settings.CIPHERFLOW_APP_ROOT ?? repoRoot), 'host.json');
  let parsed: unknown = {};
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!isObject(parsed)) throw new Error(`${file} is not a JSON object.`);
  const root = lowerKeys(parsed);
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined || !name.toLowerCase().startsWith(OVERRIDE_PREFIX)) continue;
    const keys = name.slice(OVERRIDE_PREFIX.length).toLowerCase().split('__');
    const last = keys.pop();
    if (last === undefined || last === '') continue;
    let node = root;
    for (const key of keys) {
      const child = node[key];
      node = isObject(child) ? child : (node[key] = {});
    }
    node[last] = value;
  }
  return {
    get(...keys) {
      let node: unknown = root;
      for (const key of keys) {
        if (!isObject(node)) return undefined;
        node = node[key.toLowerCase()];
      }
      return node;
    },
  };
}

/**
 * A host.json TimeSpan (`"00:00:30"`, `"1.00:00:00"`, `"00:00:00.500"`; a bare integer is days, as
 * .NET's TimeSpan.Parse reads it) in milliseconds; undefined if the value is not one.
 */
export function timeSpanMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 86_400_000;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/.exec(text);
  if (m === null) return undefined;
  const [, days, hours, minutes, seconds, fraction] = m;
  const ms = (((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds ?? 0)) * 1000;
  return ms + (fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000));
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lowerKeys(object: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(object))
    out[key.toLowerCase()] = isObject(value) ? lowerKeys(value) : value;
  return out;
}

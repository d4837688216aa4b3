import type { Settings } from './settings.js';

/**
 * `%Setting%` tokens in a binding property (a blob path, a queue name), resolved from app settings
 * as the host's name resolver does.
 *
 * @throws Error naming the setting when a token names one that is not set.
 */
export function resolveSettingTokens(value: string, settings: Settings): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const resolved = settings[name];
    if (resolved === undefined) throw new Error(`App setting "${name}" (referenced as %${name}%) is not set.`);
    return resolved;
  });
}

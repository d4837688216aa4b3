import type { z } from 'zod';
import type { ConfigProblem } from './config-error.js';
import { SETTINGS, type ConfigPartName, type SettingDeclaration, type SettingName } from './settings.js';

/** App settings as the host hands them over: `process.env`, or a test's record. */
export type SettingsEnv = Readonly<Record<string, string | undefined>>;

type Settings = typeof SETTINGS;

/** A setting's typed value: never undefined when it has a default. */
export type SettingValue<N extends SettingName> = Settings[N] extends { readonly default: string }
  ? z.output<Settings[N]['parse']>
  : z.output<Settings[N]['parse']> | undefined;

/** The typed values of one part's settings, by name. */
export type PartValues<P extends ConfigPartName> = {
  readonly [N in SettingName as Settings[N]['part'] extends P ? N : never]: SettingValue<N>;
};

const DECLARATIONS = Object.entries(SETTINGS) as [SettingName, SettingDeclaration][];

/**
 * Reads settings from one env record, collecting every problem instead of stopping at the first,
 * so a start that fails names all of them. Local mode (`CIPHERFLOW_ENV=local`) is known first:
 * it decides the local defaults, what is required.
 */
export class SettingsReader {
  readonly #env: SettingsEnv;
  readonly #problems: ConfigProblem[] = [];
  readonly local: boolean;

  constructor(env: SettingsEnv) {
    this.#env = env;
    // A malformed CIPHERFLOW_ENV is reported (by the core part) and counts as production, the stricter mode.
    this.local = SETTINGS.CIPHERFLOW_ENV.parse.safeParse(env.CIPHERFLOW_ENV).data === 'local';
  }

  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  /** Records a problem (once, however many parts find it). */
  problem(settings: readonly string[], message: string): void {
    if (!this.#problems.some((p) => p.message === message)) this.#problems.push({ settings, message });
  }

  /**
   * The typed values of every setting of `part`, defaults applied; undefined when any is
   * malformed. A setting missing while required is recorded
   * and left undefined (its type allows it: it has no default), so the part's other checks
   * still run and report their problems in the same start.
   */
  readPart<P extends ConfigPartName>(part: P): PartValues<P> | undefined {
    const values: Record<string, unknown> = {};
    const missing: string[] = [];
    const missingOutsideLocal: string[] = [];
    let ok = true;
    for (const [name, declaration] of DECLARATIONS) {
      if (declaration.part !== part) continue;
      const raw = this.#effective(name, declaration);
      if (raw === undefined) {
        if (declaration.required === 'always') missing.push(name);
        if (declaration.required === 'production' && !this.local) missingOutsideLocal.push(name);
        continue;
      }
      const parsed = this.#parse(name, declaration, raw);
      if (!parsed.ok) {
        ok = false;
        continue;
      }
      values[name] = parsed.value;
    }
    if (missing.length > 0) this.problem(missing, `${missing.join(', ')} required`);
    if (missingOutsideLocal.length > 0) {
      this.problem(
        missingOutsideLocal,
        `${missingOutsideLocal.join(', ')} required outside local mode (CIPHERFLOW_ENV=local)`,
      );
    }
    return ok ? (values as PartValues<P>) : undefined;
  }

  /**
   * A setting of another part, as set (no default): the typed value, or undefined when it is
   * absent or malformed (recorded: that part would refuse it too).
   */
  given<N extends SettingName>(name: N): z.output<Settings[N]['parse']> | undefined {
    const declaration: SettingDeclaration = SETTINGS[name];
    const raw = this.#env[name];
    if (raw === undefined || (declaration.blankIsAbsent === true && raw.trim() === '')) return undefined;
    const parsed = this.#parse(name, declaration, raw);
    return parsed.ok ? (parsed.value as z.output<Settings[N]['parse']>) : undefined;
  }

  #effective(name: SettingName, declaration: SettingDeclaration): string | undefined {
    let raw = this.#env[name];
    if (declaration.blankIsAbsent === true && raw?.trim() === '') raw = undefined;
    return raw ?? (this.local ? declaration.localDefault : undefined) ?? declaration.default;
  }

  #parse(
    name: SettingName,
    declaration: SettingDeclaration,
    raw: string,
  ): { ok: true; value: unknown } | { ok: false } {
    const result = declaration.parse.safeParse(raw);
    if (result.success) return { ok: true, value: result.data };
    for (const issue of result.error.issues) this.problem([name], `${name}: ${issue.message}`);
    return { ok: false };
  }
}

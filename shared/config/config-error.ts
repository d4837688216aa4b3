/** One reason the configuration is refused, and the settings it names. */
export interface ConfigProblem {
  readonly settings: readonly string[];
  /** The problem as the start-up error states it, naming the settings (`MAX_FILE_BYTES: must be ...`). */
  readonly message: string;
}

/**
 * The app's settings are missing or malformed: the app must not start. The message names every
 * bad setting at once, so one failed start is enough to fix them all.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Every setting a problem names, each once, in the order found. */
  readonly settings: readonly string[];

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`Invalid configuration: ${problems.map((p) => p.message).join('; ')}`);
    this.settings = [...new Set(problems.flatMap((p) => p.settings))];
  }
}

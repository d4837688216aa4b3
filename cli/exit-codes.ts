/**
 * The CLI's exit codes, stable for scripts. Documented in the README ("CLI", exit codes).
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The API answered with a problem (other than authentication), or a local step failed (a file, a key). */
  ERROR: 1,
  /** Wrong command line: unknown command or option, missing argument, a value the CLI refuses. */
  USAGE: 2,
  /**
   * Not logged in, no token, the API refused the token, API key or org (401, 403 auth codes), or
   * storage refused the landing zone SAS.
   */
  AUTH: 3,
  /** The API or storage could not be reached, or something other than the API answered. */
  NETWORK: 4,
  /** What was watched or checked finished unsuccessfully: a failed run, a FAILED CMK config, an expired key. */
  FAILED: 5,
  /** `--watch` gave up before the work finished. */
  TIMEOUT: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

import type { Problem } from '../shared/api/openapi/response-schemas.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/** A failure the CLI reports on one line (plus details) and turns into its exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Problem codes that mean "who you are" rather than "what you asked": exit {@link EXIT.AUTH}. */
const AUTH_CODES: ReadonlySet<string> = new Set([
  'UNAUTHENTICATED',
  'INVALID_API_KEY',
  'FORBIDDEN_ORG',
  'AUTH_UNAVAILABLE',
]);

/** The API answered with an RFC 9457 problem. */
export class ApiProblemError extends CliError {
  override readonly name = 'ApiProblemError';
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.title, AUTH_CODES.has(problem.code) ? EXIT.AUTH : EXIT.ERROR);
  }
}

/** Lines for stderr: the problem's title and code, its detail, field errors and the request id. */
export function describeError(err: unknown): string[] {
  if (err instanceof ApiProblemError) {
    const { problem } = err;
    return [
      `error: ${problem.title} (${problem.code}, HTTP ${err.status})`,
      ...(problem.detail === '' ? [] : [`  ${problem.detail}`]),
      ...(problem.errors ?? []).map((e) => `  ${e.field}: ${e.message}`),
      `  request id: ${problem.requestId}`,
    ];
  }
  if (err instanceof CliError) return [`error: ${err.message}`];
  return [`error: ${err instanceof Error ? err.message : String(err)}`];
}

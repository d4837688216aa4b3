/** Top-level `error.code` values the emulator answers with, as Key Vault spells them. */
export type KeyVaultErrorCode =
  | 'Unauthorized'
  | 'Forbidden'
  | 'KeyNotFound'
  | 'BadParameter'
  | 'Conflict'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'ServiceUnavailable'
  | 'Throttled'
  | 'InternalServerError';

/** `error.innererror.code` values, which is where Key Vault says why a 403 happened. */
export type KeyVaultInnerErrorCode =
  | 'KeyDisabled'
  | 'KeyOperationForbidden'
  | 'ForbiddenByRbac'
  | 'KeyExpired'
  | 'KeyNotYetValid'
  | 'ObjectIsDeletedButRecoverable';

/** Key Vault's error body: `{"error":{"code","message","innererror"?:{"code"}}}`. */
export interface KeyVaultErrorBody {
  error: { code: KeyVaultErrorCode; message: string; innererror?: { code: KeyVaultInnerErrorCode } };
}

/** A failure the emulator reports to the caller in Key Vault's error shape. */
export class KeyVaultServiceError extends Error {
  readonly status: number;
  readonly code: KeyVaultErrorCode;
  readonly innerCode: KeyVaultInnerErrorCode | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: KeyVaultErrorCode,
    message: string,
    options: { innerCode?: KeyVaultInnerErrorCode; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.innerCode = options.innerCode;
    this.headers = options.headers ?? {};
  }

  /** The JSON body Key Vault would send for this failure. */
  toBody(): KeyVaultErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode === undefined ? {} : { innererror: { code: this.innerCode } }),
      },
    };
  }
}

/** Key Vault's wording for a missing key (or key version). */
export function keyNotFound(name: string, version?: string): KeyVaultServiceError {
  const id = version ? `${name}/${version}` : name;
  return new KeyVaultServiceError(
    404,
    'KeyNotFound',
    `A key with (name/id) ${id} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

/** 400 BadParameter, Key Vault's answer to malformed input. */
export function badParameter(message: string): KeyVaultServiceError {
  return new KeyVaultServiceError(400, 'BadParameter', message);
}

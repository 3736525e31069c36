/**
 * Every command of the client session resolves with a typed result or rejects with a
 * CipherlineError: the server's code and message when the server refused (ServerError), or one
 * of the session's own codes. Messages say what to do, in words a UI can show as they are.
 */
import { ERROR_CODES, type ErrorCode } from '../../protocol/errors';
import { CryptoError } from '../../protocol/crypto-error';

/** The session's own failures, beside the server's codes. */
export type SessionErrorCode =
  /** Not connected, or the connection dropped before the reply (safe to retry: ids are kept). */
  | 'OFFLINE'
  /** No reply in time. */
  | 'TIMEOUT'
  /** Bad input from the user (a malformed name, an empty message): the message says which. */
  | 'INVALID_INPUT'
  /** The new password is too easy to guess (zxcvbn score below 3) or too short. */
  | 'WEAK_PASSWORD'
  /** The backup is sealed with a recovery key: ask for it. */
  | 'RECOVERY_KEY_NEEDED'
  /** The password (or recovery key) does not open the backup. */
  | 'WRONG_PASSWORD'
  /** The contact's identity keys differ from the pinned ones: compare safety numbers. */
  | 'IDENTITY_CHANGED'
  /** The server's answer broke the protocol or a cryptographic check. */
  | 'PROTOCOL'
  /** Signed out, or the client was closed. */
  | 'CLOSED'
  /** This device has no keys yet (sign in first). */
  | 'NO_KEYS';

export type CipherlineErrorCode = ErrorCode | SessionErrorCode;

export class CipherlineError extends Error {
  override readonly name: string = 'CipherlineError';
  constructor(
    readonly code: CipherlineErrorCode,
    message: string,
    /** The crypto core's code, when a check of it is the reason. */
    readonly cryptoCode?: CryptoError['code'],
  ) {
    super(message);
  }
}

/** The server answered `{type:'error'}`: `code` and `message` are the server's own. */
export class ServerError extends CipherlineError {
  override readonly name = 'ServerError';
  constructor(
    override readonly code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

export const isServerCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);

/** Any thrown value as a CipherlineError (a crypto check becomes PROTOCOL with its code). */
export function asCipherlineError(error: unknown): CipherlineError {
  if (error instanceof CipherlineError) return error;
  if (error instanceof CryptoError) {
    return new CipherlineError(
      'PROTOCOL',
      `a cryptographic check failed: ${error.message}`,
      error.code,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CipherlineError('PROTOCOL', `unexpected failure: ${message}`);
}

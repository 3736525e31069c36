/**
 * Every rejection in the crypto core is a CryptoError with a stable code, so callers can
 * switch on it and tests can assert the exact reason (never "decrypted to garbage").
 */
export type CryptoErrorCode =
  | 'BAD_KEY'
  | 'BAD_IV'
  | 'BAD_PADDING'
  | 'BAD_LENGTH'
  | 'BAD_INPUT'
  | 'BAD_MAC'
  | 'BAD_SIGNATURE'
  | 'MALFORMED'
  | 'UNSUPPORTED_VERSION'
  | 'WRONG_TYPE'
  | 'WRONG_RECIPIENT'
  | 'WRONG_SENDER'
  | 'REPLAY'
  | 'TOO_OLD'
  | 'IDENTITY_CHANGED'
  | 'UNKNOWN_PREKEY'
  | 'KEY_USAGE_EXCEEDED'
  | 'NOT_A_MEMBER'
  | 'BAD_EPOCH'
  | 'EPOCH_FORK'
  | 'CHUNK_ORDER'
  | 'TRUNCATED'
  | 'WRONG_PASSWORD'
  | 'INSECURE_SETTING'
  | 'BAD_DIGEST'
  | 'TOO_NEW'
  | 'TOO_LARGE'
  | 'MEMBERS_MISMATCH';

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

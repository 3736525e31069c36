/**
 * Every rejection in the crypto core and in the shared statement checks is a CryptoError with a
 * stable code, so callers can switch on it and tests can assert the exact reason (never
 * "decrypted to garbage"). In protocol/ because the server runs the statement checks too.
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
  | 'MEMBERS_MISMATCH'
  // Group statements and artefacts (protocol/group-*.ts)
  | 'WRONG_GROUP'
  | 'UNKNOWN_SIGNER'
  | 'BAD_ARTEFACT'
  | 'BAD_ARTEFACT_SIGNATURE'
  | 'STALE_ARTEFACT'
  | 'GROUP_CLOSED'
  | 'NOT_AN_ADMIN'
  | 'TIME_REGRESSION'
  | 'FROM_THE_FUTURE'
  | 'NOT_A_REKEY'
  | 'NO_CHANGE'
  // Group epochs as a member accepts them (client/crypto/group.ts)
  | 'FINGERPRINT_MISMATCH'
  | 'KEY_COMMITMENT_MISMATCH'
  | 'EPOCH_ENDED'
  // Prekeys, passwords, backups
  | 'PREKEY_TOO_OLD'
  | 'WEAK_PASSWORD'
  | 'BACKUP_ROLLBACK';

/** Refusals that may pass later without anything changing but the clock (a slow clock here, or a
 * fast one there): retry them, never treat them as a permanent verdict. */
const RETRYABLE: ReadonlySet<CryptoErrorCode> = new Set(['FROM_THE_FUTURE']);

export class CryptoError extends Error {
  override readonly name: string = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

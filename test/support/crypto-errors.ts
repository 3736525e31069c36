/** Asserting the exact CryptoError code of a refusal (never just "it threw"). */
import { expect } from 'vitest';
import { CryptoError, type CryptoErrorCode } from '../../protocol/crypto-error';

/** The code a promise is refused with, 'accepted' if it resolves; anything but a CryptoError
 * is rethrown (an untyped failure is a bug, not a refusal). */
export async function codeOf(promise: Promise<unknown>): Promise<CryptoErrorCode | 'accepted'> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    return error.code;
  }
}

export async function rejectsWith(promise: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  expect(await codeOf(promise)).toBe(code);
}

/** The CryptoError a promise is refused with (fails the test if it resolves). */
export async function refusal(promise: Promise<unknown>): Promise<CryptoError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a CryptoError').toBeInstanceOf(CryptoError);
  return error as CryptoError;
}

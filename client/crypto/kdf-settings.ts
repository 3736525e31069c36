/**
 * The password-hashing cost of Cipherline, and the one switch that lets tests lower it.
 *
 * The cost is part of the account: auth key and backup key are derived from it, so every client
 * must use exactly the same parameters (RFC 9106 section 4, second recommended option: Argon2id,
 * 64 MiB, t=3, p=1). Tests would spend seconds on it, so they may switch a cheap cost on, but
 * only in a development/test build: a production build (Vite's `define` and the CLI's esbuild
 * build replace `__CIPHERLINE_PRODUCTION__` with `true`) refuses the switch and refuses any
 * cost other than the constant one.
 */
import { CryptoError } from '../../protocol/crypto-error';

export interface Argon2Cost {
  /** Memory in KiB (1024 bytes), as Argon2's m. */
  readonly memoryKiB: number;
  /** Passes over the memory, Argon2's t. */
  readonly iterations: number;
  /** Lanes, Argon2's p. */
  readonly parallelism: number;
}

/** RFC 9106 section 4, second recommended option: 64 MiB, t=3, p=1. */
export const ACCOUNT_KDF_COST: Argon2Cost = Object.freeze({
  memoryKiB: 65536,
  iterations: 3,
  parallelism: 1,
});

/** A cost that takes well under a millisecond, for tests only (Argon2's minimum memory is 8·p KiB). */
export const TEST_KDF_COST: Argon2Cost = Object.freeze({
  memoryKiB: 64,
  iterations: 1,
  parallelism: 1,
});

/**
 * Replaced by the literal `true` in production builds (Vite `define`, esbuild `define` for the
 * CLI). In development and tests nothing defines it, so the `typeof` guard reads it as absent.
 */
declare const __CIPHERLINE_PRODUCTION__: boolean | undefined;

export function isProductionBuild(): boolean {
  return typeof __CIPHERLINE_PRODUCTION__ !== 'undefined' && __CIPHERLINE_PRODUCTION__ === true;
}

let weakKdfAllowed = false;

/**
 * Lets `deriveAccountKeys` accept a cost other than ACCOUNT_KDF_COST, for the rest of this
 * module instance's life. Throws INSECURE_SETTING in a production build.
 */
export function allowWeakKdfForTests(): void {
  if (isProductionBuild()) {
    throw new CryptoError(
      'INSECURE_SETTING',
      'a production build never lowers the password-hashing cost',
    );
  }
  weakKdfAllowed = true;
}

/** Undoes allowWeakKdfForTests (for tests that check the refusal). */
export function disallowWeakKdf(): void {
  weakKdfAllowed = false;
}

/**
 * The cost to use for a derivation. No cost, or exactly the constant one, is always fine.
 * Anything else needs the test switch, and is refused in a production build even if the switch
 * was somehow turned on before the flag became visible.
 */
export function resolveKdfCost(requested?: Argon2Cost): Argon2Cost {
  if (requested === undefined || sameCost(requested, ACCOUNT_KDF_COST)) return ACCOUNT_KDF_COST;
  if (isProductionBuild() || !weakKdfAllowed) {
    throw new CryptoError(
      'INSECURE_SETTING',
      'a password-hashing cost other than ACCOUNT_KDF_COST needs allowWeakKdfForTests() in a test build',
    );
  }
  for (const [name, value] of Object.entries(requested)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new CryptoError('BAD_INPUT', `Argon2 ${name} must be a positive integer`);
    }
  }
  return requested;
}

function sameCost(a: Argon2Cost, b: Argon2Cost): boolean {
  return (
    a.memoryKiB === b.memoryKiB && a.iterations === b.iterations && a.parallelism === b.parallelism
  );
}

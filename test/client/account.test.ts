import { createHash, hkdfSync } from 'node:crypto';
import { argon2id } from 'hash-wasm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  accountSalt,
  argon2idInThread,
  checkUsername,
  type Argon2idHasher,
  deriveAccountKeys,
  normaliseUsername,
} from '../../client/crypto/account';
import { CryptoError } from '../../protocol/crypto-error';
import {
  ACCOUNT_KDF_COST,
  TEST_KDF_COST,
  allowWeakKdfForTests,
  disallowWeakKdf,
  isProductionBuild,
  resolveKdfCost,
} from '../../client/crypto/kdf-settings';
import type { Argon2Cost } from '../../client/crypto/kdf-settings';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  code: string,
): Promise<void> {
  const run = typeof promise === 'function' ? Promise.resolve().then(promise) : promise;
  await expect(run).rejects.toSatisfy((e) => e instanceof CryptoError && e.code === code);
}

/** The documented construction, rebuilt from node:crypto and hash-wasm without account.ts. */
async function referenceKeys(username: string, password: string, cost: Argon2Cost) {
  const salt = createHash('sha256').update(`cipherline/v1${username}`).digest();
  const root = await argon2id({
    password: password.normalize('NFKC'),
    salt,
    parallelism: cost.parallelism,
    iterations: cost.iterations,
    memorySize: cost.memoryKiB,
    hashLength: 32,
    outputType: 'binary',
  });
  const expand = (info: string) =>
    new Uint8Array(hkdfSync('sha256', root, new Uint8Array(0), info, 32));
  return { authKey: expand('cipherline/v1/auth'), backupKey: expand('cipherline/v1/backup') };
}

type WithFlag = typeof globalThis & { __CIPHERLINE_PRODUCTION__?: boolean };

describe('usernames', () => {
  it('normalises by trimming, NFKC and lower-casing', () => {
    expect(normaliseUsername('  Alice ')).toBe('alice');
    expect(normaliseUsername('ＡＬＩＣＥ')).toBe('alice'); // full-width letters (NFKC)
    expect(normaliseUsername('\u212Aevin')).toBe('kevin'); // KELVIN SIGN → K → k
    expect(normaliseUsername('bob.smith-2_x')).toBe('bob.smith-2_x');
  });

  it('accepts 3 to 32 characters of [a-z0-9_.-] starting with a letter or digit, and nothing else', () => {
    expect(normaliseUsername('abc')).toBe('abc');
    expect(normaliseUsername('a'.repeat(32))).toBe('a'.repeat(32));
    for (const bad of [
      '',
      'ab',
      'a'.repeat(33),
      'al ice',
      'alice!',
      'ålice',
      '.alice',
      '-bob',
      'ali\u0301ce',
    ]) {
      const check = checkUsername(bad);
      expect(check.ok, bad).toBe(false);
      expect(() => normaliseUsername(bad)).toThrow(CryptoError);
    }
    expect(checkUsername('x')).toEqual({ ok: false, reason: 'a username has 3 to 32 characters' });
  });

  it('computes the salt as SHA-256("cipherline/v1" ‖ normalised username)', async () => {
    const expected = createHash('sha256').update('cipherline/v1alice').digest('hex');
    expect(hex(await accountSalt('alice'))).toBe(expected);
    expect(hex(await accountSalt(' ALICE'))).toBe(expected);
  });
});

describe('the test-only cost switch', () => {
  beforeEach(() => disallowWeakKdf());
  afterEach(() => {
    delete (globalThis as WithFlag).__CIPHERLINE_PRODUCTION__;
    disallowWeakKdf();
  });

  it('refuses a lowered cost until a test build switches it on', async () => {
    await expectCode(deriveAccountKeys('alice', 'pw', TEST_KDF_COST), 'INSECURE_SETTING');
    allowWeakKdfForTests();
    const keys = await deriveAccountKeys('alice', 'pw', TEST_KDF_COST);
    expect(keys.authKey).toHaveLength(32);
  });

  it('is refused, and a lowered cost is refused, when the production flag is set', async () => {
    expect(isProductionBuild()).toBe(false);
    allowWeakKdfForTests(); // switched on before the flag: the derivation must still refuse
    (globalThis as WithFlag).__CIPHERLINE_PRODUCTION__ = true;
    expect(isProductionBuild()).toBe(true);
    await expectCode(() => allowWeakKdfForTests(), 'INSECURE_SETTING');
    await expectCode(deriveAccountKeys('alice', 'pw', TEST_KDF_COST), 'INSECURE_SETTING');
    // The constant cost stays available in production.
    expect(resolveKdfCost()).toBe(ACCOUNT_KDF_COST);
    expect(resolveKdfCost({ memoryKiB: 65536, iterations: 3, parallelism: 1 })).toBe(
      ACCOUNT_KDF_COST,
    );
  });

  it('rejects nonsense costs even in tests', async () => {
    allowWeakKdfForTests();
    await expectCode(
      deriveAccountKeys('alice', 'pw', { memoryKiB: 64, iterations: 0, parallelism: 1 }),
      'BAD_INPUT',
    );
  });
});

describe('deriveAccountKeys (cheap test cost)', () => {
  beforeEach(() => allowWeakKdfForTests());

  it('matches the documented construction rebuilt with node:crypto', async () => {
    const keys = await deriveAccountKeys('Alice', 'correct horse battery', TEST_KDF_COST);
    const reference = await referenceKeys('alice', 'correct horse battery', TEST_KDF_COST);
    expect(hex(keys.authKey)).toBe(hex(reference.authKey));
    expect(hex(keys.backupKey)).toBe(hex(reference.backupKey));
    expect(hex(keys.authKey)).not.toBe(hex(keys.backupKey));
  });

  it('is deterministic, and depends on username and password', async () => {
    const a = await deriveAccountKeys('alice', 'password one', TEST_KDF_COST);
    const again = await deriveAccountKeys('  ALICE ', 'password one', TEST_KDF_COST);
    const otherPassword = await deriveAccountKeys('alice', 'password two', TEST_KDF_COST);
    const otherUser = await deriveAccountKeys('alicia', 'password one', TEST_KDF_COST);
    expect(hex(again.authKey)).toBe(hex(a.authKey));
    expect(hex(again.backupKey)).toBe(hex(a.backupKey));
    for (const other of [otherPassword, otherUser]) {
      expect(hex(other.authKey)).not.toBe(hex(a.authKey));
      expect(hex(other.backupKey)).not.toBe(hex(a.backupKey));
    }
  });

  it('gives the same keys for a composed and a decomposed password, but keeps spaces', async () => {
    const composed = await deriveAccountKeys('alice', 'caf\u00e9 au lait', TEST_KDF_COST);
    const decomposed = await deriveAccountKeys('alice', 'cafe\u0301 au lait', TEST_KDF_COST);
    const spaced = await deriveAccountKeys('alice', ' caf\u00e9 au lait', TEST_KDF_COST);
    expect(hex(decomposed.authKey)).toBe(hex(composed.authKey));
    expect(hex(spaced.authKey)).not.toBe(hex(composed.authKey));
  });

  it('refuses an empty password and an invalid username', async () => {
    await expectCode(deriveAccountKeys('alice', '', TEST_KDF_COST), 'BAD_INPUT');
    await expectCode(deriveAccountKeys('a!', 'password', TEST_KDF_COST), 'BAD_INPUT');
  });

  it('runs Argon2id through the hasher port it is given (the PWA: a worker), with the same keys', async () => {
    const calls: { password: string; salt: string; cost: Argon2Cost }[] = [];
    const recording: Argon2idHasher = async (input) => {
      calls.push({
        password: Buffer.from(input.password).toString(),
        salt: hex(input.salt),
        cost: input.cost,
      });
      return argon2idInThread(input);
    };
    const viaPort = await deriveAccountKeys('alice', 'caf\u00e9 au lait', TEST_KDF_COST, recording);
    const inThread = await deriveAccountKeys('alice', 'caf\u00e9 au lait', TEST_KDF_COST);
    expect(hex(viaPort.authKey)).toBe(hex(inThread.authKey));
    expect(calls).toEqual([
      {
        password: 'caf\u00e9 au lait',
        salt: hex(await accountSalt('alice')),
        cost: TEST_KDF_COST,
      },
    ]);
    // The cost is checked before the port is asked, and a port's wrong-sized answer is refused.
    disallowWeakKdf();
    await expectCode(
      deriveAccountKeys('alice', 'x y z w', TEST_KDF_COST, recording),
      'INSECURE_SETTING',
    );
    expect(calls).toHaveLength(1);
    allowWeakKdfForTests();
    const short: Argon2idHasher = async () => new Uint8Array(16);
    await expectCode(deriveAccountKeys('alice', 'x y z w', TEST_KDF_COST, short), 'BAD_INPUT');
  });
});

describe('the real cost (runs Argon2id at 64 MiB three times)', () => {
  it('uses RFC 9106 second recommended option, and hash-wasm is standard Argon2id', async () => {
    expect(ACCOUNT_KDF_COST).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 1 });

    // Known answer of the Argon2 reference implementation (P-H-C/phc-winner-argon2, src/test.c,
    // Argon2id v=0x13: t=2, m=2^16 KiB, p=1, password "password", salt "somesalt"). RFC 9106's
    // own vector (section 5.3) needs associated data, which hash-wasm's API does not take.
    const reference = await argon2id({
      password: 'password',
      salt: 'somesalt',
      iterations: 2,
      memorySize: 65536,
      parallelism: 1,
      hashLength: 32,
      outputType: 'hex',
    });
    expect(reference).toBe('09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7');

    // No cost argument: the derivation must run exactly m=65536, t=3, p=1.
    const keys = await deriveAccountKeys('alice', 'correct horse battery staple');
    const literal = await referenceKeys('alice', 'correct horse battery staple', {
      memoryKiB: 65536,
      iterations: 3,
      parallelism: 1,
    });
    expect(hex(keys.authKey)).toBe(hex(literal.authKey));
    expect(hex(keys.backupKey)).toBe(hex(literal.backupKey));
  });
});

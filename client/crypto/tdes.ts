/**
 * Our own 3DES: TDEA keying option 1 (EDE3: encrypt K1, decrypt K2, encrypt K3, NIST SP 800-67r2)
 * in CBC mode with PKCS#7 padding, one-shot and streaming. WebCrypto has no 3DES, and the usual JS
 * libraries are three times slower (DESIGN.md section 4), so this is the classic table-driven form:
 *
 * - the S-boxes and P are merged into 8 × 64 "SP" words (one Int32Array), built at load time from
 *   the FIPS 46-3 tables in tdes-tables.ts;
 * - the 48 round keys of a 3DES key are expanded once, in the order a direction uses them;
 * - IP and FP between the three DES passes cancel out (IP ∘ FP = identity), so IP runs once at the
 *   start and FP once at the end of each 3DES block;
 * - both halves are kept rotated left by one bit, so the E expansion becomes two word-aligned
 *   views of R (R and R rotated by 4) from which each 6-bit S-box input is one shift and mask;
 * - the CBC loops read 32-bit big-endian words from the bytes and allocate nothing per block.
 *
 * Table lookups indexed by key-dependent data are not constant-time (cache timing); the mission
 * mandates 3DES, and every ciphertext's MAC is verified before decryption (DESIGN.md section 4).
 */
import { CryptoError } from '../../protocol/crypto-error';
import { KEY_SHIFTS, P, PC1, PC2, S_BOXES } from './tdes-tables';
import { type Bytes } from '../../protocol/bytes';

/** Sweet32 bound of NIST SP 800-67r2: one 3DES key encrypts at most 2^20 blocks (8 MiB), padding included. */
export const TDES_MAX_BLOCKS_PER_KEY = 2 ** 20;
/** The longest plaintext one key may encrypt in one go: 2^20 blocks minus the (at least one byte) padding. */
export const TDES_MAX_PLAINTEXT_BYTES = TDES_MAX_BLOCKS_PER_KEY * 8 - 1;

export interface TdesCbcStream {
  /** Feeds any number of bytes; returns the output bytes that are ready (whole blocks). */
  update(chunk: Uint8Array): Bytes;
  /** Ends the stream: the padded last block (encrypt) or the unpadded tail (decrypt). */
  final(): Bytes;
}

// ---------------------------------------------------------------------------------------------
// Tables built once from the standard's text.

/** Bit `n` (1 = most significant, FIPS 46-3 numbering) of a `width`-bit value. */
const bitAt = (value: number, n: number, width: number): number => (value >>> (width - n)) & 1;
const rotateLeft1 = (word: number): number => (word << 1) | (word >>> 31);

/** SP[64·box + six input bits] = P(S_box output placed at its nibble), rotated left by one bit. */
const SP = buildSpBoxes();

function buildSpBoxes(): Int32Array {
  const sp = new Int32Array(8 * 64);
  for (let box = 0; box < 8; box++) {
    const sBox = S_BOXES[box]!;
    for (let input = 0; input < 64; input++) {
      const row = ((input >>> 4) & 2) | (input & 1);
      const column = (input >>> 1) & 15;
      const beforeP = sBox[row * 16 + column]! << (28 - 4 * box);
      let afterP = 0;
      for (let i = 0; i < 32; i++) afterP |= bitAt(beforeP, P[i]!, 32) << (31 - i);
      sp[box * 64 + input] = rotateLeft1(afterP);
    }
  }
  return sp;
}

/**
 * The 16 round keys of one DES key, two words per round, laid out to match the round function:
 * word 0 holds the key bits of S-boxes 2, 4, 6, 8 and word 1 those of S-boxes 1, 3, 5, 7, each
 * six bits at bit offset 24, 16, 8, 0.
 */
function desRoundKeys(key: Uint8Array, offset: number): Int32Array {
  const keyBit = (n: number): number => bitAt(key[offset + ((n - 1) >>> 3)]!, ((n - 1) & 7) + 1, 8);
  const c = PC1.slice(0, 28).map(keyBit);
  const d = PC1.slice(28).map(keyBit);
  const roundKeys = new Int32Array(32);
  for (let round = 0; round < 16; round++) {
    for (let s = 0; s < KEY_SHIFTS[round]!; s++) {
      c.push(c.shift()!);
      d.push(d.shift()!);
    }
    const cd = [...c, ...d];
    const sixBits = (box: number): number => {
      let v = 0;
      for (let i = 0; i < 6; i++) v = (v << 1) | cd[PC2[box * 6 + i]! - 1]!;
      return v;
    };
    roundKeys[2 * round] = (sixBits(1) << 24) | (sixBits(3) << 16) | (sixBits(5) << 8) | sixBits(7);
    roundKeys[2 * round + 1] =
      (sixBits(0) << 24) | (sixBits(2) << 16) | (sixBits(4) << 8) | sixBits(6);
  }
  return roundKeys;
}

/** Decryption is encryption with the round keys in reverse order. */
function reversedRounds(roundKeys: Int32Array): Int32Array {
  const out = new Int32Array(32);
  for (let round = 0; round < 16; round++)
    out.set(roundKeys.subarray(30 - 2 * round, 32 - 2 * round), 2 * round);
  return out;
}

/** 96 words: the three passes' round keys in the order the direction runs them. */
function tdesSchedule(key: Uint8Array, direction: 'encrypt' | 'decrypt'): Int32Array {
  const [k1, k2, k3] = [0, 8, 16].map((offset) => desRoundKeys(key, offset)) as [
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  const schedule = new Int32Array(96);
  const passes =
    direction === 'encrypt'
      ? [k1, reversedRounds(k2), k3]
      : [reversedRounds(k3), k2, reversedRounds(k1)];
  passes.forEach((pass, i) => schedule.set(pass, 32 * i));
  return schedule;
}

// ---------------------------------------------------------------------------------------------
// The CBC loop with the 3DES block function inside it.

const readWord = (bytes: Uint8Array, at: number): number =>
  (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;

function writeWord(bytes: Uint8Array, at: number, word: number): void {
  bytes[at] = word >>> 24;
  bytes[at + 1] = word >>> 16;
  bytes[at + 2] = word >>> 8;
  bytes[at + 3] = word;
}

/**
 * CBC over `blocks` whole blocks from src[srcAt..] to dst[dstAt..]; `chain` (two words) carries the
 * chaining value between calls. `keys` is a 96-word schedule of the matching direction.
 *
 * Encrypt: C_i = E(P_i ⊕ C_{i-1}). Decrypt: P_i = D(C_i) ⊕ C_{i-1}. The 3DES block is written out
 * here rather than called, because V8 does not inline a function this size and the call with its
 * two-word result cost about 10 % (measured). IP and FP are the usual swap network (Outerbridge's
 * d3des); the three DES passes run back to back with only each pass's final half-swap between them.
 */
function cbcBlocks(
  keys: Int32Array,
  decrypt: boolean,
  chain: Int32Array,
  src: Uint8Array,
  srcAt: number,
  dst: Uint8Array,
  dstAt: number,
  blocks: number,
): void {
  const sp = SP;
  let chainLeft = chain[0]!;
  let chainRight = chain[1]!;
  for (let b = 0; b < blocks; b++) {
    const s = srcAt + 8 * b;
    const inLeft = readWord(src, s);
    const inRight = readWord(src, s + 4);
    let left = decrypt ? inLeft : inLeft ^ chainLeft;
    let right = decrypt ? inRight : inRight ^ chainRight;

    // IP, then both halves rotated left by one bit.
    let t = ((left >>> 4) ^ right) & 0x0f0f0f0f;
    right ^= t;
    left ^= t << 4;
    t = ((left >>> 16) ^ right) & 0x0000ffff;
    right ^= t;
    left ^= t << 16;
    t = ((right >>> 2) ^ left) & 0x33333333;
    left ^= t;
    right ^= t << 2;
    t = ((right >>> 8) ^ left) & 0x00ff00ff;
    left ^= t;
    right ^= t << 8;
    t = ((left >>> 1) ^ right) & 0x55555555;
    right ^= t;
    left ^= t << 1;
    left = (left << 1) | (left >>> 31);
    right = (right << 1) | (right >>> 31);

    // Two Feistel rounds per step, so the halves never swap inside a pass. `even` holds the 6-bit
    // inputs of S-boxes 2, 4, 6, 8 (from R), `odd` those of S-boxes 1, 3, 5, 7 (from R rotated by 4).
    for (let pass = 0; pass < 96; pass += 32) {
      for (let k = pass; k < pass + 32; k += 4) {
        let even = right ^ keys[k]!;
        let odd = ((right >>> 4) | (right << 28)) ^ keys[k + 1]!;
        left ^=
          sp[(odd >>> 24) & 63]! |
          sp[64 + ((even >>> 24) & 63)]! |
          sp[128 + ((odd >>> 16) & 63)]! |
          sp[192 + ((even >>> 16) & 63)]! |
          sp[256 + ((odd >>> 8) & 63)]! |
          sp[320 + ((even >>> 8) & 63)]! |
          sp[384 + (odd & 63)]! |
          sp[448 + (even & 63)]!;
        even = left ^ keys[k + 2]!;
        odd = ((left >>> 4) | (left << 28)) ^ keys[k + 3]!;
        right ^=
          sp[(odd >>> 24) & 63]! |
          sp[64 + ((even >>> 24) & 63)]! |
          sp[128 + ((odd >>> 16) & 63)]! |
          sp[192 + ((even >>> 16) & 63)]! |
          sp[256 + ((odd >>> 8) & 63)]! |
          sp[320 + ((even >>> 8) & 63)]! |
          sp[384 + (odd & 63)]! |
          sp[448 + (even & 63)]!;
      }
      t = left;
      left = right;
      right = t;
    }

    // Rotate back, then FP (IP inverted).
    left = (left >>> 1) | (left << 31);
    right = (right >>> 1) | (right << 31);
    t = ((left >>> 1) ^ right) & 0x55555555;
    right ^= t;
    left ^= t << 1;
    t = ((right >>> 8) ^ left) & 0x00ff00ff;
    left ^= t;
    right ^= t << 8;
    t = ((right >>> 2) ^ left) & 0x33333333;
    left ^= t;
    right ^= t << 2;
    t = ((left >>> 16) ^ right) & 0x0000ffff;
    right ^= t;
    left ^= t << 16;
    t = ((left >>> 4) ^ right) & 0x0f0f0f0f;
    right ^= t;
    left ^= t << 4;

    if (decrypt) {
      left ^= chainLeft;
      right ^= chainRight;
      chainLeft = inLeft;
      chainRight = inRight;
    } else {
      chainLeft = left;
      chainRight = right;
    }
    writeWord(dst, dstAt + 8 * b, left);
    writeWord(dst, dstAt + 8 * b + 4, right);
  }
  chain[0] = chainLeft;
  chain[1] = chainRight;
}

const encryptBlocksCbc = (
  keys: Int32Array,
  chain: Int32Array,
  src: Uint8Array,
  srcAt: number,
  dst: Uint8Array,
  dstAt: number,
  blocks: number,
): void => cbcBlocks(keys, false, chain, src, srcAt, dst, dstAt, blocks);
const decryptBlocksCbc = (
  keys: Int32Array,
  chain: Int32Array,
  src: Uint8Array,
  srcAt: number,
  dst: Uint8Array,
  dstAt: number,
  blocks: number,
): void => cbcBlocks(keys, true, chain, src, srcAt, dst, dstAt, blocks);

// ---------------------------------------------------------------------------------------------
// Checks shared by the one-shot and streaming forms.

/** DES ignores the low (parity) bit of each key byte, so two keys equal up to parity are equal. */
function sameDesKey(key: Uint8Array, a: number, b: number): boolean {
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= (key[a + i]! ^ key[b + i]!) & 0xfe;
  return diff === 0;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 24)
    throw new CryptoError('BAD_KEY', `3DES key must be 24 bytes, got ${key.length}`);
  // Keying option 1 of SP 800-67r2 needs three distinct keys: K1 = K2 or K2 = K3 collapses EDE3 to
  // single DES, and K1 = K3 is the withdrawn two-key option.
  if (sameDesKey(key, 0, 8) || sameDesKey(key, 8, 16) || sameDesKey(key, 0, 16)) {
    throw new CryptoError(
      'BAD_KEY',
      '3DES key parts K1, K2, K3 must be distinct (NIST SP 800-67r2 keying option 1)',
    );
  }
}

function chainFromIv(iv: Uint8Array): Int32Array {
  if (iv.length !== 8)
    throw new CryptoError('BAD_IV', `3DES-CBC IV must be 8 bytes, got ${iv.length}`);
  return Int32Array.of(readWord(iv, 0), readWord(iv, 4));
}

function checkUsage(blocksSoFar: number, moreBlocks: number): void {
  if (blocksSoFar + moreBlocks > TDES_MAX_BLOCKS_PER_KEY) {
    throw new CryptoError(
      'KEY_USAGE_EXCEEDED',
      `one 3DES key may encrypt at most 2^20 blocks (${TDES_MAX_PLAINTEXT_BYTES} bytes of plaintext)`,
    );
  }
}

/** The last block with its PKCS#7 padding: the tail of the plaintext, then n bytes of value n (1..8). */
function paddedLastBlock(tail: Uint8Array): Uint8Array {
  const block = new Uint8Array(8).fill(8 - tail.length);
  block.set(tail);
  return block;
}

/** The padding length of a decrypted last block, checked without exiting early on the first bad byte. */
function paddingLength(lastBlock: Uint8Array): number {
  const pad = lastBlock[7]!;
  let bad = pad === 0 || pad > 8 ? 1 : 0;
  for (let i = 0; i < 8; i++) {
    const inPadding = (7 - i - pad) >>> 31; // 1 when i >= 8 - pad
    bad |= inPadding & (-(lastBlock[i]! ^ pad) >>> 31);
  }
  if (bad !== 0) throw new CryptoError('BAD_PADDING', '3DES-CBC: invalid PKCS#7 padding');
  return pad;
}

function checkCiphertextLength(length: number): void {
  if (length === 0 || length % 8 !== 0)
    throw new CryptoError(
      'BAD_LENGTH',
      `3DES-CBC ciphertext must be a non-zero multiple of 8 bytes, got ${length}`,
    );
}

// ---------------------------------------------------------------------------------------------
// Public API.

/** 3DES-EDE3-CBC with PKCS#7 padding. At most TDES_MAX_PLAINTEXT_BYTES per key. */
export function tdesCbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Bytes {
  checkKey(key);
  const chain = chainFromIv(iv);
  const fullBlocks = Math.floor(plaintext.length / 8);
  checkUsage(0, fullBlocks + 1);
  const keys = tdesSchedule(key, 'encrypt');
  const out = new Uint8Array(8 * (fullBlocks + 1));
  encryptBlocksCbc(keys, chain, plaintext, 0, out, 0, fullBlocks);
  encryptBlocksCbc(
    keys,
    chain,
    paddedLastBlock(plaintext.subarray(8 * fullBlocks)),
    0,
    out,
    8 * fullBlocks,
    1,
  );
  return out;
}

export function tdesCbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Bytes {
  checkKey(key);
  const ivChain = chainFromIv(iv);
  checkCiphertextLength(ciphertext.length);
  const keys = tdesSchedule(key, 'decrypt');
  const blocks = ciphertext.length / 8;
  // CBC decrypts any block alone (its chaining value is the ciphertext block before it), so the
  // last block goes first: the padding length is then known and the output is allocated exactly.
  const lastAt = 8 * (blocks - 1);
  const lastChain =
    blocks === 1
      ? Int32Array.from(ivChain)
      : Int32Array.of(readWord(ciphertext, lastAt - 8), readWord(ciphertext, lastAt - 4));
  const lastBlock = new Uint8Array(8);
  decryptBlocksCbc(keys, lastChain, ciphertext, lastAt, lastBlock, 0, 1);
  const pad = paddingLength(lastBlock);
  const out = new Uint8Array(ciphertext.length - pad);
  decryptBlocksCbc(keys, ivChain, ciphertext, 0, out, 0, blocks - 1);
  out.set(lastBlock.subarray(0, 8 - pad), lastAt);
  return out;
}

/**
 * Streaming encryption: output is the same as tdesCbcEncrypt over the concatenated chunks. The
 * 2^20-block limit counts every block this encryptor produces, padding included.
 */
export function createTdesCbcEncryptor(key: Uint8Array, iv: Uint8Array): TdesCbcStream {
  checkKey(key);
  const chain = chainFromIv(iv);
  const keys = tdesSchedule(key, 'encrypt');
  const pending = new Uint8Array(8);
  let pendingLength = 0;
  let blocksDone = 0;
  let finished = false;
  const checkOpen = (): void => {
    if (finished) throw new CryptoError('BAD_INPUT', '3DES-CBC encryptor already finished');
  };
  return {
    update(chunk) {
      checkOpen();
      const blocks = Math.floor((pendingLength + chunk.length) / 8);
      checkUsage(blocksDone, blocks);
      const out = new Uint8Array(8 * blocks);
      let read = 0;
      let written = 0;
      if (blocks > 0 && pendingLength > 0) {
        read = 8 - pendingLength;
        pending.set(chunk.subarray(0, read), pendingLength);
        encryptBlocksCbc(keys, chain, pending, 0, out, 0, 1);
        pendingLength = 0;
        written = 1;
      }
      encryptBlocksCbc(keys, chain, chunk, read, out, 8 * written, blocks - written);
      read += 8 * (blocks - written);
      pending.set(chunk.subarray(read), pendingLength);
      pendingLength += chunk.length - read;
      blocksDone += blocks;
      return out;
    },
    final() {
      checkOpen();
      checkUsage(blocksDone, 1);
      finished = true;
      const out = new Uint8Array(8);
      encryptBlocksCbc(
        keys,
        chain,
        paddedLastBlock(pending.subarray(0, pendingLength)),
        0,
        out,
        0,
        1,
      );
      blocksDone += 1;
      return out;
    },
  };
}

/** Streaming decryption; holds back the last ciphertext block until final() because it carries the padding. */
export function createTdesCbcDecryptor(key: Uint8Array, iv: Uint8Array): TdesCbcStream {
  checkKey(key);
  const chain = chainFromIv(iv);
  const keys = tdesSchedule(key, 'decrypt');
  const pending = new Uint8Array(8);
  let pendingLength = 0;
  let finished = false;
  const checkOpen = (): void => {
    if (finished) throw new CryptoError('BAD_INPUT', '3DES-CBC decryptor already finished');
  };
  return {
    update(chunk) {
      checkOpen();
      const total = pendingLength + chunk.length;
      // Decrypt every whole block except the last one seen so far (1..8 bytes stay pending).
      const blocks = total === 0 ? 0 : Math.floor((total - 1) / 8);
      const out = new Uint8Array(8 * blocks);
      let read = 0;
      let written = 0;
      if (blocks > 0 && pendingLength > 0) {
        read = 8 - pendingLength;
        pending.set(chunk.subarray(0, read), pendingLength);
        decryptBlocksCbc(keys, chain, pending, 0, out, 0, 1);
        pendingLength = 0;
        written = 1;
      }
      decryptBlocksCbc(keys, chain, chunk, read, out, 8 * written, blocks - written);
      read += 8 * (blocks - written);
      pending.set(chunk.subarray(read), pendingLength);
      pendingLength += chunk.length - read;
      return out;
    },
    final() {
      checkOpen();
      finished = true;
      // update() keeps 1..8 bytes pending once anything arrived: exactly 8 iff the total length
      // was a non-zero multiple of 8.
      if (pendingLength !== 8) {
        throw new CryptoError(
          'BAD_LENGTH',
          `3DES-CBC ciphertext must be a non-zero multiple of 8 bytes`,
        );
      }
      const lastBlock = new Uint8Array(8);
      decryptBlocksCbc(keys, chain, pending, 0, lastBlock, 0, 1);
      return lastBlock.slice(0, 8 - paddingLength(lastBlock));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Single DES, for the published DES known-answer tests only.

/** Single DES is EDE3 with K1 = K2 = K3 (E_K ∘ D_K cancels); the schedule skips the distinct-key check on purpose. */
function singleDesBlock(
  key: Uint8Array,
  block: Uint8Array,
  direction: 'encrypt' | 'decrypt',
): Bytes {
  if (key.length !== 8)
    throw new CryptoError('BAD_KEY', `DES key must be 8 bytes, got ${key.length}`);
  if (block.length !== 8)
    throw new CryptoError('BAD_LENGTH', `DES block must be 8 bytes, got ${block.length}`);
  const keys = tdesSchedule(new Uint8Array([...key, ...key, ...key]), direction);
  // One block of CBC with a zero chaining value is ECB.
  const out = new Uint8Array(8);
  cbcBlocks(keys, direction === 'decrypt', new Int32Array(2), block, 0, out, 0, 1);
  return out;
}

/** Single-DES ECB of one block (FIPS 46-3). Exported for known-answer tests; never use it for data. */
export const desEncryptBlock = (key: Uint8Array, block: Uint8Array): Bytes =>
  singleDesBlock(key, block, 'encrypt');
export const desDecryptBlock = (key: Uint8Array, block: Uint8Array): Bytes =>
  singleDesBlock(key, block, 'decrypt');

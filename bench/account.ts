/**
 * Part of `npm run bench:crypto`: how long signing in costs a device, i.e. Argon2id at the real
 * client cost (64 MiB, t=3, p=1) plus the HKDF split, in Node. Prints the median of 7 runs.
 */
import { deriveAccountKeys } from '../client/crypto/account';
import { ACCOUNT_KDF_COST } from '../client/crypto/kdf-settings';

const runs: number[] = [];
for (let i = 0; i < 8; i++) {
  const started = performance.now();
  await deriveAccountKeys('alice', 'correct horse battery staple');
  runs.push(performance.now() - started);
}
const first = runs.shift()!; // includes compiling the WASM module
runs.sort((a, b) => a - b);
console.log(
  `Account keys (Argon2id ${ACCOUNT_KDF_COST.memoryKiB / 1024} MiB, t=${ACCOUNT_KDF_COST.iterations}, p=${ACCOUNT_KDF_COST.parallelism}, + HKDF), Node ${process.version}:`,
);
console.log(
  `  median ${runs[3]!.toFixed(0)} ms over 7 runs (range ${runs[0]!.toFixed(0)}-${runs.at(-1)!.toFixed(0)} ms); first run ${first.toFixed(0)} ms`,
);

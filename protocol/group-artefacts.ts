/**
 * Group artefacts (DESIGN.md section 4, Groups; docs/protocol.md section 4): every membership
 * change carries a signature by the person it concerns or by an admin, so the server can add or
 * drop no one by itself.
 *
 *   join          the joiner   : group id, joiner, latest statement hash it knew (or 32 zeros), time
 *   leave         the leaver   : group id, leaver, time
 *   admin-remove  an admin     : group id, admin, target, time
 *   admin-add     an admin     : group id, admin, target, time
 *
 *   signed bytes = lengthPrefixed("cipherline/v2/group-artefact/<kind>", group id, signer,
 *                                 [target], [known hash], u64 time)
 *   wire         = u8 kind code ‖ lengthPrefixed(group id, signer, [target], [known hash],
 *                                               u64 time, signature (64))
 *
 * The tag names the kind, so one kind's signature never passes as another's. Times are the
 * signer's clock in epoch milliseconds.
 */
import {
  ByteReader,
  type Bytes,
  MAX_ID_BYTES,
  checkId,
  concatBytes,
  fromBase64,
  lengthPrefixed,
  toBase64,
  u64,
  utf8,
} from './bytes';
import { CryptoError } from './crypto-error';
import { CLOCK_SLACK_MS } from './limits';
import { SIGNATURE_BYTES, ed25519Sign, ed25519Verify } from './signatures';
import { missingCase } from './missing-case';

export const HASH_BYTES = 32;
/** The "latest statement hash" of a join request by someone who knew none. */
export const NO_STATEMENT_HASH: Bytes = new Uint8Array(HASH_BYTES);
/** The longest artefact on the wire: an admin's, with three ids of 256 bytes (861 bytes). */
export const MAX_ARTEFACT_BYTES = 1 + 3 * (4 + MAX_ID_BYTES) + (4 + 8) + (4 + SIGNATURE_BYTES);
export const MAX_ARTEFACT_BASE64_CHARS = Math.ceil(MAX_ARTEFACT_BYTES / 3) * 4;

export interface JoinRequest {
  readonly kind: 'join';
  readonly groupId: string;
  /** The joiner, who signs. */
  readonly userId: string;
  /** Hash of the latest statement the joiner knew, or NO_STATEMENT_HASH. */
  readonly knownHash: Uint8Array;
  readonly time: number;
  readonly signature: Uint8Array;
}

export interface Leave {
  readonly kind: 'leave';
  readonly groupId: string;
  /** The leaver, who signs. */
  readonly userId: string;
  readonly time: number;
  readonly signature: Uint8Array;
}

export interface AdminChange {
  readonly kind: 'admin-remove' | 'admin-add';
  readonly groupId: string;
  /** The admin, who signs. */
  readonly admin: string;
  /** The member removed or the user added. */
  readonly target: string;
  readonly time: number;
  readonly signature: Uint8Array;
}
export type AdminRemoval = AdminChange & { readonly kind: 'admin-remove' };
export type AdminAddition = AdminChange & { readonly kind: 'admin-add' };

export type AdditionArtefact = JoinRequest | AdminAddition;
export type RemovalArtefact = Leave | AdminRemoval;
export type GroupArtefact = AdditionArtefact | RemovalArtefact;
export type ArtefactKind = GroupArtefact['kind'];
export type UnsignedArtefact = DistributiveOmit<GroupArtefact, 'signature'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Never reuse a code. */
const KIND_CODES: Readonly<Record<ArtefactKind, number>> = {
  join: 1,
  leave: 2,
  'admin-remove': 3,
  'admin-add': 4,
};

export function isAddition(artefact: GroupArtefact): artefact is AdditionArtefact {
  return artefact.kind === 'join' || artefact.kind === 'admin-add';
}

/** Who the change is about: the joiner, the leaver, or an admin's target. */
export function artefactSubject(artefact: UnsignedArtefact): string {
  return artefact.kind === 'join' || artefact.kind === 'leave' ? artefact.userId : artefact.target;
}

/** Who signed it: the subject itself, or the admin. */
export function artefactSigner(artefact: UnsignedArtefact): string {
  return artefact.kind === 'join' || artefact.kind === 'leave' ? artefact.userId : artefact.admin;
}

/** Artefacts in statement order: by the user they concern (JS string order). */
export function sortBySubject<T extends GroupArtefact>(artefacts: Iterable<T>): T[] {
  return [...artefacts].sort((a, b) => {
    const x = artefactSubject(a);
    const y = artefactSubject(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The fields after the group id and signer, in signed and wire order. */
function kindFields(artefact: UnsignedArtefact): Bytes[] {
  const kind = artefact.kind;
  switch (kind) {
    case 'join':
      if (artefact.knownHash.length !== HASH_BYTES)
        throw new CryptoError('BAD_INPUT', `a known statement hash has ${HASH_BYTES} bytes`);
      return [artefact.knownHash as Bytes];
    case 'leave':
      return [];
    case 'admin-remove':
    case 'admin-add':
      return [checkId(artefact.target, 'target')];
    default: {
      return missingCase(
        artefact,
        new CryptoError('BAD_INPUT', `unknown artefact ${String(artefact)}`),
      );
    }
  }
}

export function artefactSignedBytes(artefact: UnsignedArtefact): Bytes {
  return lengthPrefixed(
    utf8(`cipherline/v2/group-artefact/${artefact.kind}`),
    checkId(artefact.groupId, 'group id'),
    checkId(artefactSigner(artefact), 'signer'),
    ...kindFields(artefact),
    u64(artefact.time),
  );
}

export async function signArtefact<T extends UnsignedArtefact>(
  artefact: T,
  signingKey: CryptoKey,
): Promise<T & { readonly signature: Bytes }> {
  return { ...artefact, signature: await ed25519Sign(signingKey, artefactSignedBytes(artefact)) };
}

/** True when the artefact is signed by its signer's Ed25519 key `signerKey`. */
export async function artefactSignatureValid(
  artefact: GroupArtefact,
  signerKey: Uint8Array,
): Promise<boolean> {
  return ed25519Verify(signerKey, artefact.signature, artefactSignedBytes(artefact));
}

/** BAD_ARTEFACT_SIGNATURE unless signed by `signerKey` (the signer's published signing key). */
export async function verifyArtefact(
  artefact: GroupArtefact,
  signerKey: Uint8Array,
): Promise<void> {
  if (!(await artefactSignatureValid(artefact, signerKey))) {
    throw new CryptoError(
      'BAD_ARTEFACT_SIGNATURE',
      `the ${artefact.kind} artefact about ${artefactSubject(artefact)} is not signed by ${artefactSigner(artefact)}`,
    );
  }
}

/**
 * What the server checks before an artefact changes its roster (`join`, `leave`, `remove`, `add`
 * carry one): the expected group and kind (BAD_ARTEFACT), a time within CLOCK_SLACK_MS of the
 * server's clock either way (FROM_THE_FUTURE, retryable; STALE_ARTEFACT for an old one: a
 * replay, or a client that should sign a new one), and the signer's published key
 * (UNKNOWN_SIGNER, BAD_ARTEFACT_SIGNATURE). Whether the signer may do it (is an admin, is the
 * subject a member) is the roster's to judge.
 */
export async function checkFreshArtefact(
  artefact: GroupArtefact,
  expected: { readonly groupId: string; readonly kinds: readonly ArtefactKind[] },
  context: {
    readonly signingKeyOf: (
      userId: string,
    ) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
    readonly now: number;
  },
): Promise<void> {
  if (artefact.groupId !== expected.groupId || !expected.kinds.includes(artefact.kind)) {
    throw new CryptoError(
      'BAD_ARTEFACT',
      `expected a ${expected.kinds.join(' or ')} artefact for ${expected.groupId}, got a ${artefact.kind} for ${artefact.groupId}`,
    );
  }
  if (artefact.time > context.now + CLOCK_SLACK_MS)
    throw new CryptoError(
      'FROM_THE_FUTURE',
      `the ${artefact.kind} artefact is dated ahead of this clock: retry later`,
    );
  if (artefact.time < context.now - CLOCK_SLACK_MS)
    throw new CryptoError(
      'STALE_ARTEFACT',
      `the ${artefact.kind} artefact is more than 5 minutes old: sign a new one`,
    );
  const signer = artefactSigner(artefact);
  const key = await context.signingKeyOf(signer);
  if (!key) throw new CryptoError('UNKNOWN_SIGNER', `${signer} has no published signing key`);
  await verifyArtefact(artefact, key);
}

export function encodeArtefact(artefact: GroupArtefact): Bytes {
  if (artefact.signature.length !== SIGNATURE_BYTES)
    throw new CryptoError('BAD_INPUT', `a signature has ${SIGNATURE_BYTES} bytes`);
  return concatBytes(
    new Uint8Array([KIND_CODES[artefact.kind]]),
    lengthPrefixed(
      checkId(artefact.groupId, 'group id'),
      checkId(artefactSigner(artefact), 'signer'),
      ...kindFields(artefact),
      u64(artefact.time),
      artefact.signature,
    ),
  );
}

/** Reads one artefact; MALFORMED for anything that is not exactly one. */
export function decodeArtefact(bytes: Uint8Array): GroupArtefact {
  const reader = new ByteReader(bytes);
  const code = reader.u8();
  const kind = (Object.keys(KIND_CODES) as ArtefactKind[]).find((k) => KIND_CODES[k] === code);
  if (!kind) throw new CryptoError('MALFORMED', `unknown artefact kind ${code}`);
  const groupId = reader.idField('group id');
  const signer = reader.idField('signer');
  let artefact: GroupArtefact;
  switch (kind) {
    case 'join': {
      const knownHash = reader.fixedField(HASH_BYTES, 'known hash').slice();
      const time = reader.u64Field('time');
      artefact = { kind, groupId, userId: signer, knownHash, time, signature: signatureOf(reader) };
      break;
    }
    case 'leave': {
      const time = reader.u64Field('time');
      artefact = { kind, groupId, userId: signer, time, signature: signatureOf(reader) };
      break;
    }
    case 'admin-remove':
    case 'admin-add': {
      const target = reader.idField('target');
      const time = reader.u64Field('time');
      artefact = { kind, groupId, admin: signer, target, time, signature: signatureOf(reader) };
      break;
    }
    default: {
      return missingCase(
        kind,
        new CryptoError('MALFORMED', `unknown artefact kind ${String(kind)}`),
      );
    }
  }
  reader.end('artefact');
  return artefact;
}

function signatureOf(reader: ByteReader): Bytes {
  return reader.fixedField(SIGNATURE_BYTES, 'signature').slice();
}

export const artefactToBase64 = (artefact: GroupArtefact): string =>
  toBase64(encodeArtefact(artefact));

export function artefactFromBase64(text: string): GroupArtefact {
  if (text.length > MAX_ARTEFACT_BASE64_CHARS)
    throw new CryptoError(
      'TOO_LARGE',
      `an artefact is at most ${MAX_ARTEFACT_BASE64_CHARS} base64 characters`,
    );
  return decodeArtefact(fromBase64(text));
}

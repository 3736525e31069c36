/**
 * Per-message 1:1 key agreement (DESIGN.md section 4): X3DH without one-time prekeys.
 *
 *   sender A, recipient B; EK = a fresh X25519 pair for this one message
 *   ikm  = DH(EK, IK_B) ‖ DH(EK, SPK_B) ‖ DH(IK_A, SPK_B)
 *   info = "cipherline/v1/<type>" ‖ lengthPrefixed(sender id, recipient id, IK_A, IK_B, EK,
 *                                                  u32 SPK id, message id)
 *   okm  = HKDF-SHA256(ikm, salt = 32 zero bytes, info, 56) → 3DES key (24) ‖ MAC key (32)
 *
 * DH(IK_A, SPK_B) mixes the sender's long-term private key into the one-time DH; EK makes every
 * message's key new, even for the same text twice. The type labels are prefix-free ('text',
 * 'file', 'receipt', 'key-share'), so label ‖ fields stays unambiguous.
 */
import type { DirectMessageType } from './envelope-header';
import { CryptoError } from '../../protocol/crypto-error';
import {
  type LocalKeys,
  type VerifiedBundle,
  checkSignedPrekeyAge,
  findSignedPrekey,
  generateX25519KeyPair,
  x25519,
} from './keys';
import { hkdf } from './primitives';
import { type Bytes, concatBytes, lengthPrefixed, u32, utf8 } from '../../protocol/bytes';

export const TDES_KEY_BYTES = 24;
export const MAC_KEY_BYTES = 32;
/** RFC 5869: without a salt, HKDF uses HashLen zero bytes; written out so every side agrees. */
const KDF_SALT = new Uint8Array(32);

export interface MessageKeys {
  /** 3DES-EDE3 key, used for exactly one message. */
  readonly encryptionKey: Bytes;
  /** HMAC-SHA256 key for the same message. */
  readonly macKey: Bytes;
}

/** HKDF-SHA256 → 24 bytes of 3DES key ‖ 32 bytes of MAC key. */
export async function splitMessageKeys(ikm: Uint8Array, info: Uint8Array): Promise<MessageKeys> {
  const okm = await hkdf(ikm, KDF_SALT, info, TDES_KEY_BYTES + MAC_KEY_BYTES);
  return { encryptionKey: okm.slice(0, TDES_KEY_BYTES), macKey: okm.slice(TDES_KEY_BYTES) };
}

export interface AgreementContext {
  readonly type: DirectMessageType;
  readonly senderId: string;
  readonly recipientId: string;
  readonly senderIdentityDh: Uint8Array;
  readonly recipientIdentityDh: Uint8Array;
  readonly ephemeralPublic: Uint8Array;
  readonly signedPrekeyId: number;
  readonly messageId: string;
}

export function agreementInfo(context: AgreementContext): Bytes {
  return concatBytes(
    utf8(`cipherline/v1/${context.type}`),
    lengthPrefixed(
      utf8(context.senderId),
      utf8(context.recipientId),
      context.senderIdentityDh,
      context.recipientIdentityDh,
      context.ephemeralPublic,
      u32(context.signedPrekeyId),
      utf8(context.messageId),
    ),
  );
}

async function derive(
  dh1: Bytes,
  dh2: Bytes,
  dh3: Bytes,
  context: AgreementContext,
): Promise<MessageKeys> {
  const ikm = concatBytes(dh1, dh2, dh3);
  try {
    return await splitMessageKeys(ikm, agreementInfo(context));
  } finally {
    ikm.fill(0);
    dh1.fill(0);
    dh2.fill(0);
    dh3.fill(0);
  }
}

export interface SenderAgreement {
  readonly ephemeralPublic: Bytes;
  readonly signedPrekeyId: number;
  readonly keys: MessageKeys;
}

/** The sender's side: a fresh EK (its private half is dropped when this returns), to a prekey
 * that is neither too old nor from the future at the sender's clock `now`. */
export async function senderAgreement(
  sender: LocalKeys,
  recipient: VerifiedBundle,
  type: DirectMessageType,
  messageId: string,
  now: number,
): Promise<SenderAgreement> {
  checkSignedPrekeyAge(recipient, now);
  const ephemeral = await generateX25519KeyPair();
  const spk = recipient.signedPrekey;
  const dh1 = await x25519(ephemeral.privateKey, recipient.identityDh);
  const dh2 = await x25519(ephemeral.privateKey, spk.publicKey);
  const dh3 = await x25519(sender.identityDh.privateKey, spk.publicKey);
  const keys = await derive(dh1, dh2, dh3, {
    type,
    senderId: sender.userId,
    recipientId: recipient.userId,
    senderIdentityDh: sender.identityDh.publicKey,
    recipientIdentityDh: recipient.identityDh,
    ephemeralPublic: ephemeral.publicKey,
    signedPrekeyId: spk.id,
    messageId,
  });
  return { ephemeralPublic: ephemeral.publicKey, signedPrekeyId: spk.id, keys };
}

export interface RecipientAgreementInput {
  readonly type: DirectMessageType;
  readonly sender: { readonly userId: string; readonly identityDh: Uint8Array };
  readonly ephemeralPublic: Uint8Array;
  readonly signedPrekeyId: number;
  readonly messageId: string;
}

/** The recipient's mirror: DH(IK_B, EK) ‖ DH(SPK_B, EK) ‖ DH(SPK_B, IK_A). UNKNOWN_PREKEY when
 * the named prekey was never made or has been deleted. */
export async function recipientAgreement(
  recipient: LocalKeys,
  input: RecipientAgreementInput,
): Promise<MessageKeys> {
  const spk = findSignedPrekey(recipient, input.signedPrekeyId);
  if (input.ephemeralPublic.length !== 32)
    throw new CryptoError('MALFORMED', 'EK must be 32 bytes');
  const dh1 = await x25519(recipient.identityDh.privateKey, input.ephemeralPublic);
  const dh2 = await x25519(spk.keyPair.privateKey, input.ephemeralPublic);
  const dh3 = await x25519(spk.keyPair.privateKey, input.sender.identityDh);
  return derive(dh1, dh2, dh3, {
    type: input.type,
    senderId: input.sender.userId,
    recipientId: recipient.userId,
    senderIdentityDh: input.sender.identityDh,
    recipientIdentityDh: recipient.identityDh.publicKey,
    ephemeralPublic: input.ephemeralPublic,
    signedPrekeyId: input.signedPrekeyId,
    messageId: input.messageId,
  });
}

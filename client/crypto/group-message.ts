/**
 * Group messages (DESIGN.md section 4, Groups). Each message has its own key:
 *
 *   okm = HKDF-SHA256(ikm = group key of the epoch, salt = 32 zero bytes,
 *                     info = "cipherline/v1/grp/<type>" ‖ lengthPrefixed(group id, u32 epoch,
 *                                                                         sender id, message id))
 *       → 3DES key (24) ‖ MAC key (32)
 *
 * Every member can compute every member's message keys, so the MAC only proves "someone in the
 * epoch"; the sender's Ed25519 signature (over a group domain tag and header ‖ IV ‖ ciphertext,
 * the header holding group id, epoch, sender id, message id and timestamp) is what stops one member
 * from writing as another. Receivers also check the sender was a member of that epoch.
 */
import { type MessageKeys, splitMessageKeys } from './agreement';
import {
  type GroupHeader,
  type GroupMessageType,
  isGroupHeader,
  parseEnvelope,
} from './envelope-header';
import {
  checkMac,
  checkSignature,
  checkTimestamp,
  decrypt,
  expectType,
  recordOnce,
  sealWithKeys,
} from './envelope';
import { type GroupBody, decodeBody, encodeBody } from './envelope-payloads';
import { CryptoError } from '../../protocol/crypto-error';
import { CLOCK_SLACK_MS } from '../../protocol/limits';
import { type GroupView, currentEpoch, findEpoch, successorOf } from './group';
import type { LocalKeys, VerifiedBundle } from './keys';
import type { SeenStore } from './seen-store';
import { type Bytes, concatBytes, lengthPrefixed, u32, utf8 } from '../../protocol/bytes';

export interface GroupKeyContext {
  readonly type: GroupMessageType;
  readonly groupId: string;
  readonly epoch: number;
  readonly senderId: string;
  readonly messageId: string;
}

export async function deriveGroupMessageKeys(
  groupKey: Uint8Array,
  context: GroupKeyContext,
): Promise<MessageKeys> {
  if (groupKey.length !== 32) throw new CryptoError('BAD_KEY', 'a group key has 32 bytes');
  const info = concatBytes(
    utf8(`cipherline/v1/grp/${context.type}`),
    lengthPrefixed(
      utf8(context.groupId),
      u32(context.epoch),
      utf8(context.senderId),
      utf8(context.messageId),
    ),
  );
  return splitMessageKeys(groupKey, info);
}

export interface SealGroupInput {
  readonly sender: LocalKeys;
  /** Sealed under the view's current epoch. */
  readonly view: GroupView;
  readonly messageId: string;
  readonly timestamp: number;
  readonly body: GroupBody;
}

export async function sealGroup(input: SealGroupInput): Promise<Bytes> {
  const { sender, view, messageId, timestamp, body } = input;
  const epoch = currentEpoch(view);
  if (!epoch.members.includes(sender.userId)) {
    throw new CryptoError(
      'NOT_A_MEMBER',
      `${sender.userId} is not in epoch ${epoch.epoch} of ${view.groupId}`,
    );
  }
  const header: Omit<GroupHeader, 'ciphertextLength'> = {
    type: body.type,
    senderId: sender.userId,
    groupId: view.groupId,
    epoch: epoch.epoch,
    messageId,
    timestamp,
  };
  const keys = await deriveGroupMessageKeys(epoch.groupKey, { ...header });
  return sealWithKeys(header, keys, sender.identitySign.privateKey, encodeBody(body));
}

export interface OpenGroupInput {
  readonly envelope: Uint8Array;
  readonly view: GroupView;
  /** The sender's verified bundle. */
  readonly sender: VerifiedBundle;
  /** The sender the server authenticated. */
  readonly authenticatedSenderId: string;
  readonly expectedType: GroupMessageType | readonly GroupMessageType[];
  readonly seen: SeenStore;
  readonly now: number;
}

export interface OpenedGroup {
  readonly header: GroupHeader;
  readonly body: GroupBody;
  /** Its epoch had a successor when it arrived: show it marked late (sent before the change,
   * delivered after it). */
  readonly late: boolean;
}

/**
 * Order: structure; WRONG_TYPE (also a 1:1 envelope here); WRONG_RECIPIENT (another group);
 * WRONG_SENDER; BAD_EPOCH (an epoch I hold no key for: before I joined, or unknown); NOT_A_MEMBER
 * (sender not in that epoch); BAD_SIGNATURE; BAD_MAC; TOO_OLD / TOO_NEW; EPOCH_ENDED (dated after
 * the next epoch's createdAt plus CLOCK_SLACK_MS: a removed member still holds the old key, so
 * the old epoch ends with its successor); REPLAY; then decryption. A message of an epoch that
 * has a successor is returned `late`.
 */
export async function openGroup(input: OpenGroupInput): Promise<OpenedGroup> {
  const { view, sender, authenticatedSenderId } = input;
  const parsed = parseEnvelope(input.envelope);
  const header = parsed.header;
  if (!isGroupHeader(header))
    throw new CryptoError('WRONG_TYPE', `a ${header.type} envelope is not a group message`);
  expectType(header.type, input.expectedType);
  if (header.groupId !== view.groupId) {
    throw new CryptoError(
      'WRONG_RECIPIENT',
      `a message for group ${header.groupId}, not ${view.groupId}`,
    );
  }
  if (header.senderId !== authenticatedSenderId || sender.userId !== authenticatedSenderId) {
    throw new CryptoError(
      'WRONG_SENDER',
      `message from ${header.senderId}, delivered as from ${authenticatedSenderId}`,
    );
  }
  const epoch = findEpoch(view, header.epoch);
  if (!epoch)
    throw new CryptoError('BAD_EPOCH', `no key for epoch ${header.epoch} of ${view.groupId}`);
  if (!epoch.members.includes(header.senderId)) {
    throw new CryptoError('NOT_A_MEMBER', `${header.senderId} was not in epoch ${header.epoch}`);
  }
  await checkSignature(parsed, sender.identitySign);
  const keys = await deriveGroupMessageKeys(epoch.groupKey, header);
  await checkMac(parsed, keys);
  checkTimestamp(header.timestamp, input.now);
  const successor = successorOf(view, header.epoch);
  if (successor && header.timestamp > successor.createdAt + CLOCK_SLACK_MS) {
    throw new CryptoError(
      'EPOCH_ENDED',
      `a message in epoch ${header.epoch} dated after epoch ${successor.epoch} began`,
    );
  }
  await recordOnce(input.seen, header.senderId, header.messageId, header.timestamp);
  const body = decodeBody(header.type, decrypt(parsed, keys));
  return { header, body, late: successor !== undefined };
}

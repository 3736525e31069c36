/**
 * Group members over the real protocol, as the server now requires them: each test user has an
 * Ed25519 identity it publishes, signs its join requests, leaves and admin changes, and makes
 * real signed statements on the roster the server serves (built with group-statements.ts, so a
 * test can also lie in any field). Key-shares are stand-in ciphertext: the server never opens
 * them (tests that need real ones use the client core, test/support/group-story.ts).
 */
import { randomUUID } from 'node:crypto';
import { fromBase64, toBase64 } from '../protocol/bytes';
import {
  type AdditionArtefact,
  type RemovalArtefact,
  artefactFromBase64,
  artefactToBase64,
} from '../protocol/group-artefacts';
import {
  type GroupStatement,
  decodeStatement,
  memberIds,
  statementHash,
  statementToBase64,
} from '../protocol/group-statement';
import { randomBytes } from '../client/crypto/primitives';
import { serverDeps } from '../lambdas/runtime/deps';
import type { PublicBundleWire } from '../protocol/commands';
import { fakeEnvelope, signupUser, type TestUser } from './accounts';
import {
  type Signer,
  type StatementDraft,
  StatementBuilder,
  adminAddition,
  adminRemoval,
  joinRequest,
  leaveOf,
  makeSigners,
} from './group-statements';
import type { TestClient } from './ws-client';

type Reply = Record<string, unknown> & { type: string; code?: string; message?: string };
interface Actor {
  readonly username: string;
  readonly client: TestClient;
}

/** Every signer a test made, by user id (usernames are unique per stack). */
const signers = new Map<string, Signer>();

export function signerOf(userId: string): Signer {
  const signer = signers.get(userId);
  if (!signer) throw new Error(`${userId} has no signing key: publishSigner first`);
  return signer;
}

const bundleOf = (userId: string, signer: Signer): PublicBundleWire => ({
  userId,
  identityDh: toBase64(signer.identityDh),
  identitySign: toBase64(signer.sign.publicKey),
  signedPrekey: {
    id: 1,
    publicKey: toBase64(randomBytes(32)),
    signature: toBase64(randomBytes(64)),
    createdAt: Date.now(),
  },
});

/** Makes the user's identity and publishes it (a bundle whose signing key is real). */
export async function publishSigner(user: Actor): Promise<Signer> {
  const known = signers.get(user.username);
  if (known) return known;
  const signer = (await makeSigners([user.username]))[user.username]!;
  const reply = await user.client.request('keys', {
    op: 'publish',
    bundle: bundleOf(user.username, signer),
  });
  if (reply.type !== 'ok') throw new Error(`publish failed: ${JSON.stringify(reply)}`);
  signers.set(user.username, signer);
  return signer;
}

/** The same, straight through the store (for users made by quickUsers). */
export async function publishSignerInStore(userId: string): Promise<Signer> {
  const known = signers.get(userId);
  if (known) return known;
  const signer = (await makeSigners([userId]))[userId]!;
  const outcome = await serverDeps().users.publishBundle(userId, bundleOf(userId, signer));
  if (outcome !== 'published') throw new Error(`publish ${userId}: ${outcome}`);
  signers.set(userId, signer);
  return signer;
}

/**
 * The statements that make a group of `maker` and `joiners`: epoch 1, then as few epochs as fit
 * the statement's size bound (about 40 join requests each), each adding the next joiners.
 */
export async function chainAdding(
  maker: string,
  groupId: string,
  joiners: readonly string[],
  now = Date.now(),
): Promise<GroupStatement[]> {
  const builder = new StatementBuilder(signers.values());
  const chain = [await builder.create(signerOf(maker), groupId, now)];
  let rest = [...joiners];
  let batch = rest.length;
  while (rest.length > 0) {
    const additions = await Promise.all(
      rest.slice(0, batch).map((userId) => joinRequest(signerOf(userId), groupId, now)),
    );
    try {
      chain.push(await builder.next(chain.at(-1)!, signerOf(maker), { createdAt: now, additions }));
      rest = rest.slice(batch);
      batch = rest.length;
    } catch (error) {
      if (batch === 1) throw error;
      batch = Math.ceil(batch / 2); // TOO_LARGE: carry fewer
    }
  }
  return chain;
}

/** A user that can take part in groups: signed up, with its signing key published. */
export async function signupGroupUser(url: string, username: string): Promise<TestUser> {
  const user = await signupUser(url, username);
  await publishSigner(user);
  return user;
}

export const joinArtefact = async (userId: string, groupId: string, time = Date.now()) =>
  artefactToBase64(await joinRequest(signerOf(userId), groupId, time));
export const leaveArtefact = async (userId: string, groupId: string, time = Date.now()) =>
  artefactToBase64(await leaveOf(signerOf(userId), groupId, time));
export const removalArtefact = async (admin: string, target: string, groupId: string) =>
  artefactToBase64(await adminRemoval(signerOf(admin), target, groupId, Date.now()));
export const additionArtefact = async (admin: string, target: string, groupId: string) =>
  artefactToBase64(await adminAddition(signerOf(admin), target, groupId, Date.now()));

export async function join(user: Actor, groupId: string, timeoutMs?: number): Promise<Reply> {
  const request = await joinArtefact(user.username, groupId);
  return (await user.client.request('join', { groupId, request }, timeoutMs)) as Reply;
}

export async function leave(user: Actor, groupId: string): Promise<Reply> {
  const request = await leaveArtefact(user.username, groupId);
  return (await user.client.request('leave', { groupId, request })) as Reply;
}

export async function removeMember(admin: Actor, target: string, groupId: string) {
  const request = await removalArtefact(admin.username, target, groupId);
  return (await admin.client.request('remove', { groupId, userId: target, request })) as Reply;
}

export async function addMember(admin: Actor, target: string, groupId: string) {
  const request = await additionArtefact(admin.username, target, groupId);
  return (await admin.client.request('add', { groupId, userId: target, request })) as Reply;
}

/** The roster as `members` serves it, every page read. */
export interface Roster {
  readonly epoch: number;
  readonly statement?: GroupStatement;
  readonly members: string[];
  readonly admins: string[];
  readonly closed: boolean;
  readonly pendingAdditions: AdditionArtefact[];
  readonly pendingRemovals: RemovalArtefact[];
}

export async function rosterOf(user: Actor, groupId: string): Promise<Roster> {
  const members: string[] = [];
  const additions: AdditionArtefact[] = [];
  const removals: RemovalArtefact[] = [];
  let after: string | undefined;
  let first: Reply | undefined;
  do {
    const page = (await user.client.request('members', {
      groupId,
      ...(after && { after }),
    })) as Reply;
    if (page.type !== 'ok') throw new Error(`members failed: ${JSON.stringify(page)}`);
    first ??= page;
    for (const member of page.members as { userId: string; artefact?: string }[]) {
      members.push(member.userId);
      if (member.artefact) additions.push(artefactFromBase64(member.artefact) as AdditionArtefact);
    }
    for (const removal of page.removals as { artefact: string }[])
      removals.push(artefactFromBase64(removal.artefact) as RemovalArtefact);
    after = page.next as string | undefined;
  } while (after);
  return {
    epoch: first.epoch as number,
    ...(typeof first.statement === 'string' && {
      statement: decodeStatement(fromBase64(first.statement)),
    }),
    members,
    admins: first.admins as string[],
    closed: first.closed as boolean,
    pendingAdditions: additions,
    pendingRemovals: removals,
  };
}

/**
 * The next statement `maker` would make now: epoch 1 when there is none, else the current one
 * plus every pending addition minus every pending removal (a rekey when none), with `draft`'s
 * overrides (to lie, or to carry less).
 */
export async function nextStatement(
  maker: Actor,
  groupId: string,
  draft: Partial<StatementDraft> = {},
): Promise<GroupStatement> {
  const roster = await rosterOf(maker, groupId);
  const builder = new StatementBuilder(signers.values());
  const signer = signerOf(maker.username);
  if (!roster.statement) return builder.create(signer, groupId, draft.createdAt ?? Date.now());
  return builder.next(roster.statement, signer, {
    additions: roster.pendingAdditions,
    removals: roster.pendingRemovals,
    ...draft,
    createdAt: draft.createdAt ?? Math.max(Date.now(), roster.statement.createdAt),
  });
}

/** A sharekey store frame for `statement`, with a stand-in key-share for each of `to` (default:
 * every member of the statement). */
export async function epochFrame(
  statement: GroupStatement,
  to: readonly string[] = memberIds(statement),
  options: { readonly hashOnly?: boolean; readonly envelopeBytes?: number } = {},
) {
  return {
    op: 'store',
    groupId: statement.groupId,
    epoch: statement.epoch,
    ...(options.hashOnly
      ? { statementHash: toBase64(await statementHash(statement)) }
      : { statement: statementToBase64(statement) }),
    keyShares: to.map((member) => ({
      to: member,
      messageId: randomUUID(),
      envelope: fakeEnvelope(options.envelopeBytes ?? 200),
    })),
  };
}

/** Stores `statement` (default: the next one `maker` would make) with a key-share for everyone. */
export async function storeEpoch(
  maker: Actor,
  groupId: string,
  statement?: GroupStatement,
  timeoutMs?: number,
): Promise<Reply & { statement: GroupStatement }> {
  const made = statement ?? (await nextStatement(maker, groupId));
  const reply = (await maker.client.request(
    'sharekey',
    await epochFrame(made),
    timeoutMs,
  )) as Reply;
  return { ...reply, statement: made };
}

/** Joins and makes the join epoch (the joiner adds itself and every other pending joiner). */
export async function joinAndRotate(user: Actor, groupId: string): Promise<Reply> {
  const joined = await join(user, groupId);
  if (joined.type !== 'ok') return joined;
  return storeEpoch(user, groupId);
}

/**
 * Puts `members` (signed up, online) into `groupId` over the WebSocket: each publishes its
 * identity and joins with a signed request; the first stores the epochs adding the others
 * (`sharesPerFrame` key-shares a frame, the statement repeated in each). Returns the current epoch.
 */
export async function formGroup(
  members: readonly Actor[],
  groupId: string,
  sharesPerFrame = 80,
): Promise<number> {
  const maker = members[0]!;
  for (const member of members) {
    await publishSigner(member);
    const joined = await join(member, groupId, 30_000);
    if (joined.type !== 'ok') throw new Error(`join failed: ${JSON.stringify(joined)}`);
  }
  const chain = await chainAdding(
    maker.username,
    groupId,
    members.slice(1).map((member) => member.username),
  );
  for (const statement of chain) {
    const frame = await epochFrame(statement);
    // A frame stays under the gateway's 32 KB: the statement (up to 24 KB) plus the shares.
    const fit = Math.floor((30_000 - statementToBase64(statement).length) / 400);
    const perFrame = Math.max(1, Math.min(sharesPerFrame, fit));
    for (let i = 0; i < frame.keyShares.length; i += perFrame) {
      const reply = await maker.client.request(
        'sharekey',
        { ...frame, keyShares: frame.keyShares.slice(i, i + perFrame) },
        30_000,
      );
      if (reply.type !== 'ok') throw new Error(`sharekey failed: ${JSON.stringify(reply)}`);
    }
  }
  return chain.at(-1)!.epoch;
}

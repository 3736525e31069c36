/**
 * The group story the client group tests share: alice creates "friends" (epoch 1, admin), bob
 * joins (2), carol joins (3); each member accepts what follows. Plus helpers to accept an epoch
 * as a member would, and to craft one as a dishonest client could.
 */
import { sealDirect } from '../../client/crypto/envelope';
import {
  type GroupView,
  type NewEpoch,
  createGroup,
  createJoinEpoch,
  epochFrom,
} from '../../client/crypto/group';
import { makeJoinRequest } from '../../client/crypto/group-membership';
import { type AcceptEpochInput, acceptEpoch } from '../../client/crypto/group-accept';
import {
  type LocalKeys,
  type VerifiedBundle,
  generateLocalKeys,
  pinnedIdentityOf,
  publicBundle,
  verifyBundle,
} from '../../client/crypto/keys';
import { randomBytes } from '../../client/crypto/primitives';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import {
  type UnsignedStatement,
  keyCommitment,
  signStatement,
  statementHash,
} from '../../protocol/group-statement';

export const T0 = Date.UTC(2025, 2, 1);
export const MINUTE = 60_000;
export const GROUP = 'friends';
export const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory'] as const;
export type Name = (typeof NAMES)[number];

export interface Story {
  readonly keys: Record<Name, LocalKeys>;
  readonly bundles: Record<Name, VerifiedBundle>;
  readonly epoch1: NewEpoch;
  readonly epoch2: NewEpoch;
  readonly epoch3: NewEpoch;
  readonly views: Record<'alice' | 'bob' | 'carol', GroupView>;
  /** Verified bundles by name. */
  bundleMap(...names: Name[]): Map<string, VerifiedBundle>;
  /** What `me` does with a pushed epoch: every other user's keys are pinned by default. */
  accept(
    view: GroupView,
    me: Name,
    epoch: NewEpoch,
    overrides?: Partial<AcceptEpochInput>,
  ): ReturnType<typeof acceptEpoch>;
  /** Any statement, signed by `signer`, with key-shares sealed by `signer` to every member,
   * carrying `groupKey` (default: the one the statement commits to, made here). */
  craft(
    signer: Name,
    unsigned: Omit<UnsignedStatement, 'keyCommitment'> & { keyCommitment?: Uint8Array },
    groupKey?: Uint8Array,
  ): Promise<NewEpoch>;
}

export function shareFor(epoch: NewEpoch, member: string): Uint8Array {
  const share = epoch.keyShares.find((s) => s.recipientId === member);
  if (!share) throw new Error(`no key-share for ${member}`);
  return share.envelope;
}

export async function makeStory(): Promise<Story> {
  const keys = {} as Record<Name, LocalKeys>;
  const bundles = {} as Record<Name, VerifiedBundle>;
  for (const name of NAMES) {
    keys[name] = await generateLocalKeys(name, T0);
    bundles[name] = await verifyBundle(publicBundle(keys[name]));
  }
  const bundleMap = (...names: Name[]) => new Map(names.map((n) => [n as string, bundles[n]]));
  const pins = new Map(NAMES.map((n) => [n as string, pinnedIdentityOf(bundles[n])]));

  const accept: Story['accept'] = (view, me, epoch, overrides = {}) =>
    acceptEpoch({
      view,
      statement: epoch.statement,
      bundles: bundleMap(...NAMES),
      pinned: (userId) => pins.get(userId),
      keyShare: overrides.keyShare ?? shareFor(epoch, me),
      authenticatedSenderId: epoch.statement.maker,
      me: keys[me],
      seen: new MemorySeenStore(),
      now: epoch.statement.createdAt + MINUTE,
      ...overrides,
    });

  const craft: Story['craft'] = async (signer, unsigned, groupKey = randomBytes(32)) => {
    const statement = await signStatement(
      {
        ...unsigned,
        keyCommitment:
          unsigned.keyCommitment ??
          (await keyCommitment(unsigned.groupId, unsigned.epoch, groupKey)),
      },
      keys[signer].identitySign.privateKey,
    );
    const hash = await statementHash(statement);
    const keyShares = await Promise.all(
      statement.members.map(async (member) => {
        const messageId = crypto.randomUUID();
        const envelope = await sealDirect({
          sender: keys[signer],
          recipient: bundles[member.userId as Name],
          messageId,
          timestamp: statement.createdAt,
          body: {
            type: 'key-share',
            keyShare: {
              groupId: statement.groupId,
              epoch: statement.epoch,
              statementHash: hash,
              groupKey,
            },
          },
        });
        return { recipientId: member.userId, messageId, envelope };
      }),
    );
    const epoch = epochFrom(statement, hash, groupKey as Uint8Array<ArrayBuffer>);
    return { statement, keyShares, epoch, view: { groupId: statement.groupId, epochs: [epoch] } };
  };

  const epoch1 = await createGroup({ groupId: GROUP, me: keys.alice, now: T0 });
  const epoch2 = await createJoinEpoch({
    me: keys.bob,
    latest: epoch1.statement,
    request: await makeJoinRequest({
      groupId: GROUP,
      me: keys.bob,
      knownHash: epoch1.epoch.statementHash,
      now: T0 + 10 * MINUTE,
    }),
    memberBundles: bundleMap('alice'),
    now: T0 + 10 * MINUTE,
  });
  const aliceAt2 = (await accept(epoch1.view, 'alice', epoch2)).view;
  const epoch3 = await createJoinEpoch({
    me: keys.carol,
    latest: epoch2.statement,
    request: await makeJoinRequest({ groupId: GROUP, me: keys.carol, now: T0 + 20 * MINUTE }),
    memberBundles: bundleMap('alice', 'bob'),
    now: T0 + 20 * MINUTE,
  });
  const views = {
    alice: (await accept(aliceAt2, 'alice', epoch3)).view,
    bob: (await accept(epoch2.view, 'bob', epoch3)).view,
    carol: epoch3.view,
  };
  return { keys, bundles, epoch1, epoch2, epoch3, views, bundleMap, accept, craft };
}

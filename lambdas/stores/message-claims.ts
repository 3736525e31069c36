/**
 * Claim and skip: how a stream (a user's inbox, a group's log) takes a message at most once. The
 * caller has taken the stream's next number; the entry is written there while the message id is
 * claimed for that number with a conditional write in the `messageClaims` table, both at once, so the
 * common first attempt costs no read. A retry loses the claim: it rewrites the first attempt's
 * entry (in case that attempt died before writing it) and turns its own number into a skipped
 * entry, which pages pass over at once. If the first attempt died without its entry long enough
 * ago that a cursor may have crossed the empty number (ATTEMPT_MAX_MS), the retry keeps its own
 * number instead and moves the claim there, one conditional write deciding between late retries.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ATTEMPT_MAX_MS } from '../timing';
import { conditionHolds, toAttributes, toTtl } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/**
 * Message-id claims (claim and skip): one item per (stream, sender, message id), so a retried
 * send stores nothing twice; and the markers of 1:1 messages dropped for a block. Items expire
 * with the retention.
 */
export const messageClaimsTable = {
  envVar: 'TABLE_MESSAGE_CLAIMS',
  partitionKey: S('key'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/** The keys of the table, each prefix defined here once. A message id is its sender's: two senders may use the same one. */
export const claimKeys = {
  /** A 1:1 message (or receipt) in a user's inbox. */
  inbox: (userId: string, from: string, messageId: string) => `msg#${userId}#${from}#${messageId}`,
  /** A message in a group's log. */
  groupLog: (groupId: string, from: string, messageId: string) =>
    `gmsg#${groupId}#${from}#${messageId}`,
  /** A 1:1 message dropped because its recipient blocks the sender. */
  dropped: (userId: string, from: string, messageId: string) =>
    `dropped#${userId}#${from}#${messageId}`,
} as const;

/** What appending a message to a stream (an inbox, a group's log) answers. */
export interface Appended {
  /** The number the message keeps. */
  readonly seq: number;
  /** True when its message id was taken before (a retry): nothing new was stored. */
  readonly duplicate: boolean;
  /** When it was sent: the time of the attempt that holds its claim. */
  readonly sentAt: number;
}

/** Where the entries of one stream are written. */
export interface StreamEntries {
  /**
   * Writes the message's entry at `seq`, sent at `sentAt` (a plain put: rewriting the same entry
   * is harmless).
   */
  putEntry(seq: number, sentAt: number): Promise<void>;
  /** Writes a skipped entry at `seq`: a number this message took and does not use. */
  putSkipped(seq: number): Promise<void>;
  hasEntry(seq: number): Promise<boolean>;
}

interface Claim {
  readonly seq: number;
  /** Absent on claims from before the field existed: they count as old. */
  readonly claimedAt?: number;
}

/** One message id's claim: an item of the `messageClaims` table, keyed by stream, sender and message id. */
export class MessageClaim {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly table: string,
    private readonly key: string,
  ) {}

  /** False when an earlier attempt holds the claim (a claim past its retention no longer counts). */
  claim(seq: number, now: number, expiresAt: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toAttributes({ key: this.key, seq, claimedAt: now, expiresAt }),
          ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':now': { N: String(toTtl(now)) } },
        }),
      ),
    );
  }

  async current(): Promise<Claim> {
    const { Item } = await this.db.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { key: { S: this.key } },
        ConsistentRead: true,
      }),
    );
    return { seq: Number(Item!.seq!.N), claimedAt: Item!.claimedAt && Number(Item!.claimedAt.N) };
  }

  move(from: number, to: number, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { key: { S: this.key } },
          UpdateExpression: 'SET seq = :to, claimedAt = :now',
          ConditionExpression: 'seq = :from',
          ExpressionAttributeValues: toAttributes({ ':from': from, ':to': to, ':now': now }),
        }),
      ),
    );
  }
}

/**
 * Writes a message at `seq` (a number the caller just took) unless its id was taken before;
 * answers the number the message keeps, whether it was a duplicate, and its time.
 */
export async function appendClaimed(
  seq: number,
  claim: MessageClaim,
  entries: StreamEntries,
  now: number,
  expiresAt: number,
): Promise<Appended> {
  const [claimed] = await Promise.all([
    claim.claim(seq, now, expiresAt),
    entries.putEntry(seq, now),
  ]);
  if (claimed) return { seq, duplicate: false, sentAt: now };
  const kept = await claimAfterLoss(seq, claim, entries, now);
  if (kept.seq === seq) return { seq, duplicate: false, sentAt: now };
  const sentAt = kept.claimedAt ?? now;
  await Promise.all([entries.putEntry(kept.seq, sentAt), entries.putSkipped(seq)]);
  return { seq: kept.seq, duplicate: true, sentAt };
}

/**
 * The claim a message keeps when this attempt (at `seq`) lost it: the held one, unless its attempt
 * died before storing the entry more than ATTEMPT_MAX_MS ago; then this attempt's.
 */
async function claimAfterLoss(
  seq: number,
  claim: MessageClaim,
  entries: StreamEntries,
  now: number,
): Promise<Claim> {
  const held = await claim.current();
  const abandoned =
    now - (held.claimedAt ?? 0) > ATTEMPT_MAX_MS && !(await entries.hasEntry(held.seq));
  if (!abandoned) return held;
  if (await claim.move(held.seq, seq, now)) return { seq, claimedAt: now };
  return claim.current();
}

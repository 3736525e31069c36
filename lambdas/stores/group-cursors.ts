/**
 * The opaque `next` tokens of the group listings (./groups.ts listAll, ./memberships.ts
 * listMine): the DynamoDB start key, base64url JSON, checked on the way back in.
 */
import { checkGroupName, normalizeGroupName } from '../../protocol/groups';
import { checkUsername, normalizeName } from '../../protocol/username';

export const encodeCursor = (key: Record<string, unknown>) =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

/** A cursor's key fields must be what the listing itself writes: a group id, a user id. */
const CURSOR_FIELDS = {
  groupId: (value: string) => checkGroupName(value).ok && normalizeGroupName(value) === value,
  userId: (value: string) => checkUsername(value).ok && normalizeName(value) === value,
} as const;

/** A listing's answer: a page, or `bad-cursor` for a token it did not write (the command says so). */
export type Listing<T> = Page<T> | 'bad-cursor';

export interface Page<T> {
  readonly items: T[];
  /** Opaque: pass back to get the next page; absent on the last one. */
  readonly next?: string;
}

/**
 * The start key a `next` token stands for, or undefined for a crafted token, which so never
 * reaches DynamoDB as a ValidationException (an empty or overlong key, a key of the wrong shape).
 */
export function decodeCursor(
  cursor: string,
  fields: readonly (keyof typeof CURSOR_FIELDS)[],
): Record<string, string> | undefined {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      typeof key === 'object' &&
      key !== null &&
      Object.keys(key).length === fields.length &&
      fields.every((field) => {
        const value = (key as Record<string, unknown>)[field];
        return typeof value === 'string' && CURSOR_FIELDS[field](value);
      })
    )
      return key as Record<string, string>;
  } catch {
    // not JSON: refused below
  }
  return undefined;
}

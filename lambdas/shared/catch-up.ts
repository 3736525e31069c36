/**
 * Pages (protocol/catch-up.ts): what a device has not acknowledged yet, stream by stream, from its
 * cursor on. The inbox first, then each group log the device may read (from its join to its
 * leave); at most PAGE_MAX_EVENTS events and about PAGE_MAX_BYTES of JSON; never covering a number
 * still being written (lambdas/shared/stream-walk.ts). A group whose log has nothing after the
 * cursor costs no read beyond its head.
 */
import { PAGE_MAX_BYTES, PAGE_MAX_EVENTS } from '../../protocol/catch-up';
import {
  type DurableEvent,
  groupIdOf,
  groupStream,
  INBOX_STREAM,
  type Page,
  type StreamName,
} from '../../protocol/events';
import { RETENTION_MS } from '../../protocol/limits';
import type { ServerDeps } from '../runtime/deps';
import type { GroupLogEntry } from '../stores/group-log';
import type { LogHead } from '../stores/groups';
import type { Membership } from '../stores/memberships';
import {
  epochEvent,
  groupMessageEvent,
  inboxEvent,
  membershipEvent,
  sameStatement,
} from './stream-events';
import { type EntryStep, jsonBytes, PageBudget, type StreamWalk, walkStream } from './stream-walk';
import { missingCase } from '../../protocol/missing-case';

/** Where a page reads a stream: the numbers after `after`, up to `until` when the device left. */
export interface StreamRange {
  readonly stream: StreamName;
  readonly after: number;
  readonly until?: number;
  /** The group log's last number: nothing to read when it is not past `after`. */
  readonly head?: number;
}

export interface DeviceStreams {
  /** The streams with something left to read, the inbox first. */
  readonly ranges: StreamRange[];
  /** Every stream the device has a place in, read to the end or not, with its position there. */
  readonly known: ReadonlyMap<StreamName, number>;
}

/**
 * A group log's part for a member, from its row and the group as it is: from its join on, up to
 * its leave. A row that says "member" for a user the group no longer lists is a leave whose row
 * was not written yet: nothing more is read (never past a leave).
 */
export function groupRange(
  userId: string,
  row: Membership,
  head: LogHead,
  cursor: number | undefined,
  now: number,
): { readonly position: number; readonly range?: StreamRange } {
  const after = Math.max(cursor ?? 0, row.joinSeq - 1);
  const left = row.leftSeq !== undefined;
  if (left && now - (row.leftAt ?? 0) > RETENTION_MS) return { position: after }; // expired too
  const until = left ? row.leftSeq : head.memberIds.includes(userId) ? undefined : after;
  if (until !== undefined && after >= until) return { position: after };
  return {
    position: after,
    range: { stream: groupStream(row.groupId), after, until, head: head.logSeq },
  };
}

/** The device's streams (or only those named): its inbox and the group logs it may read. */
export async function deviceStreams(
  deps: ServerDeps,
  userId: string,
  cursors: Readonly<Record<string, number>>,
  only?: ReadonlySet<StreamName>,
): Promise<DeviceStreams> {
  const known = new Map<StreamName, number>();
  const ranges: StreamRange[] = [];
  if (!only || only.has(INBOX_STREAM)) {
    known.set(INBOX_STREAM, cursors[INBOX_STREAM] ?? 0);
    ranges.push({ stream: INBOX_STREAM, after: cursors[INBOX_STREAM] ?? 0 });
  }
  const wantsGroups = !only || [...only].some((stream) => stream !== INBOX_STREAM);
  if (!wantsGroups) return { ranges, known };
  const now = deps.now();
  const rows = (await deps.memberships.memberships(userId)).filter(
    (row) =>
      (!only || only.has(groupStream(row.groupId))) &&
      // Left longer ago than the retention: its entries are gone, nothing to read or record.
      !(row.leftSeq !== undefined && now - (row.leftAt ?? 0) > RETENTION_MS),
  );
  if (rows.length === 0) return { ranges, known };
  const heads = await deps.groups.logHeads(rows.map((row) => row.groupId));
  for (const row of rows) {
    const head = heads.get(row.groupId);
    if (!head) continue;
    const stream = groupStream(row.groupId);
    const { position, range } = groupRange(userId, row, head, cursors[stream], now);
    known.set(stream, position);
    if (range) ranges.push(range);
  }
  return { ranges, known };
}

type Reader = (
  range: StreamRange,
  limit: number,
  budget: PageBudget,
) => Promise<{ walk: StreamWalk<DurableEvent>; more: boolean }>;

function inboxReader(deps: ServerDeps, userId: string): Reader {
  return async (range, limit, budget) => {
    const now = deps.now();
    const read = await deps.inbox.after(userId, range.after, limit, now);
    const walk = walkStream(
      range.after,
      read.items,
      now,
      budget,
      (item): EntryStep<DurableEvent> => {
        const event = inboxEvent(item);
        return event ? { kind: 'event', event, bytes: jsonBytes(event) } : { kind: 'pass' };
      },
    );
    return { walk, more: read.more };
  };
}

function groupReader(deps: ServerDeps, userId: string): Reader {
  return async (range, limit, budget) => {
    const groupId = groupIdOf(range.stream)!;
    const now = deps.now();
    const read = await deps.groupLog.entries(groupId, range.after, range.until, limit, now);
    const epochs = read.items.filter((entry) => entry.kind === 'epoch');
    // My key-share of each epoch in this part of the log, read by key.
    const [shares, blocked] =
      epochs.length > 0
        ? await Promise.all([
            deps.groupEpochs.keySharesOf(
              userId,
              epochs.map(({ epoch }) => ({ groupId, epoch })),
            ),
            deps.users.get(userId).then((user) => new Set(user?.blocked ?? [])),
          ])
        : [new Map(), new Set<string>()];
    const step = (entry: GroupLogEntry): EntryStep<DurableEvent> => {
      const event = (() => {
        switch (entry.kind) {
          case 'message':
            return groupMessageEvent(entry);
          case 'epoch': {
            // An epoch's entry is written once all its key-shares are stored, so none is still
            // coming: a reader without one (it joined after the epoch was made) gets `epoch`.
            const stored = shares.get(`${groupId}#${entry.epoch}`);
            // A key-share from a user the reader blocks is withheld: the reader rekeys.
            const share =
              stored && sameStatement(stored, entry.statementHash) && !blocked.has(stored.from)
                ? stored
                : undefined;
            return epochEvent(entry, share);
          }
          case 'member-joined':
          case 'member-left':
            return membershipEvent(entry);
          case 'skipped':
            return undefined;
          default: {
            return missingCase(entry);
          }
        }
      })();
      return event ? { kind: 'event', event, bytes: jsonBytes(event) } : { kind: 'pass' };
    };
    return { walk: walkStream(range.after, read.items, now, budget, step), more: read.more };
  };
}

/** Builds the page for these ranges, in their order, within the page's allowance. */
export async function buildPage(
  deps: ServerDeps,
  userId: string,
  ranges: readonly StreamRange[],
): Promise<Page> {
  const through: Partial<Record<StreamName, number>> = {};
  for (const range of ranges) through[range.stream] = range.after;
  const budget = new PageBudget(PAGE_MAX_EVENTS, PAGE_MAX_BYTES);
  budget.spend(jsonBytes(through)); // `through` grows with the streams, not with the numbers
  const readers = { inbox: inboxReader(deps, userId), group: groupReader(deps, userId) };
  const events: DurableEvent[] = [];
  let more = false;
  let readyAt: number | undefined;
  for (const range of ranges) {
    if (range.head !== undefined && range.head <= range.after) continue; // nothing new
    if (budget.exhausted) {
      more = true;
      continue;
    }
    const read = range.stream === INBOX_STREAM ? readers.inbox : readers.group;
    const { walk, more: unread } = await read(range, budget.eventsLeft, budget);
    through[range.stream] = walk.through;
    events.push(...walk.events);
    if (walk.stopped || unread) more = true;
    if (walk.readyAt !== undefined) readyAt = Math.min(readyAt ?? Infinity, walk.readyAt);
  }
  return {
    events,
    through,
    more,
    ...(readyAt !== undefined && { retryAfterMs: Math.max(0, readyAt - deps.now()) }),
  };
}

export interface ServedPage {
  readonly page: Page;
  /** The device's cursors before and after this request. */
  readonly before: Readonly<Record<string, number>>;
  readonly cursors: Readonly<Record<string, number>>;
  /** The streams the device has a place in, among those asked for, with where it stands in each. */
  readonly known: ReadonlyMap<StreamName, number>;
}

/** Attempts at the device's cursor item before giving up (each one reads it again). */
const CURSOR_WRITE_ATTEMPTS = 8;

/** Full jitter between attempts: a random wait up to 5 ms × 2^attempt. */
const cursorBackOff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));

/**
 * Serves a page to a device on a connection: reads its cursors, lets `move` advance some of them
 * (an ack; `served` is what pages on this connection covered), builds the page from the cursors,
 * and records the cursors and the served marks in one conditional write. If another request of
 * the device wrote in between, everything is done again on what it wrote. A page that only
 * serves (no cursor moves: a sign-in) is answered even if its marks could not be recorded after
 * every attempt: acking it then moves nothing, and the device is served the same page again.
 */
export async function servePage(
  deps: ServerDeps,
  device: { readonly userId: string; readonly deviceId: string },
  connectionId: string,
  request: {
    readonly only?: ReadonlySet<StreamName>;
    readonly move?: (
      cursors: Readonly<Record<string, number>>,
      served: Readonly<Record<string, number>>,
    ) => Record<string, number>;
  } = {},
): Promise<ServedPage> {
  for (let attempt = 1; ; attempt++) {
    const state = await deps.deviceCursors.get(device.userId, device.deviceId);
    const served = state.servedOn === connectionId ? state.served : {};
    const moved = request.move?.(state.cursors, served) ?? {};
    const wanted = { ...state.cursors, ...moved };
    const streams = await deviceStreams(deps, device.userId, wanted, request.only);
    const cursors = { ...state.cursors };
    // A sign-in looks at every stream of the device: cursors of streams it no longer has (groups
    // left longer ago than the retention) go, so the item does not grow for ever.
    if (!request.only)
      for (const stream of Object.keys(cursors))
        if (!streams.known.has(stream as StreamName)) delete cursors[stream];
    // Only streams the device has a place in, and only forward: nothing else enters the item.
    for (const [stream, seq] of Object.entries(moved))
      if (streams.known.has(stream as StreamName) && seq > (cursors[stream] ?? 0))
        cursors[stream] = seq;
    const page = await buildPage(deps, device.userId, streams.ranges);
    const nextServed: Record<string, number> = { ...served };
    for (const [stream, seq] of Object.entries(page.through))
      nextServed[stream] = Math.max(nextServed[stream] ?? 0, seq!);
    const next = { cursors, served: nextServed, servedOn: connectionId, version: state.version };
    // Nothing to record when no cursor moved and the page covered nothing past where each stream
    // started: an ack of such a page moves nothing either way (so a sign-in with nothing new
    // writes nothing).
    const coveredNothing = streams.ranges.every(
      (range) => page.through[range.stream] === range.after,
    );
    const unchanged =
      JSON.stringify(cursors) === JSON.stringify(state.cursors) &&
      (coveredNothing ||
        (state.servedOn === connectionId &&
          JSON.stringify(state.served) === JSON.stringify(nextServed)));
    const answer = { page, before: state.cursors, cursors, known: streams.known };
    if (unchanged || (await deps.deviceCursors.save(device.userId, device.deviceId, next)))
      return answer;
    if (attempt >= CURSOR_WRITE_ATTEMPTS) {
      if (!request.move) return { ...answer, cursors: state.cursors };
      throw new Error('the device cursor item kept changing under this request');
    }
    await cursorBackOff(attempt);
  }
}

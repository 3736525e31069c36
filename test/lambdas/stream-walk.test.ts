/**
 * How far a page goes in a stream (lambdas/shared/stream-walk.ts): over stored entries, over a
 * missing number only once it is settled, never past the page's allowance; which part of a group
 * log a member reads (lambdas/shared/catch-up.ts); which connections a bind closes.
 */
import { describe, expect, it } from 'vitest';
import { groupRange } from '../../lambdas/shared/catch-up';
import { surplusConnections, USER_CONNECTION_CAP } from '../../lambdas/shared/sessions';
import {
  PageBudget,
  walkStream,
  type EntryStep,
  type StoredNumber,
} from '../../lambdas/shared/stream-walk';
import { IN_FLIGHT_MAX_MS } from '../../lambdas/timing';

const NOW = 1_800_000_000_000;
const recent = NOW - 1000;
const settled = NOW - IN_FLIGHT_MAX_MS - 1;

const serveAll = (entry: StoredNumber): EntryStep<number> => ({
  kind: 'event',
  event: entry.seq,
  bytes: 10,
});
const walk = (
  start: number,
  stored: StoredNumber[],
  budget = new PageBudget(100, 96 * 1024),
  step = serveAll,
) => walkStream(start, stored, NOW, budget, step);

describe('walkStream', () => {
  it('serves consecutive stored entries after the start, in order', () => {
    const stored = [4, 5, 6, 7].map((seq) => ({ seq, storedAt: recent }));
    expect(walk(3, stored)).toEqual({ through: 7, events: [4, 5, 6, 7], stopped: false });
  });

  it('stops before a missing number that may still be written, and says when it settles', () => {
    // 5 was taken before 6 was stored, a second ago: its writer may still be running.
    const stored = [4, 6, 7].map((seq) => ({ seq, storedAt: recent }));
    expect(walk(3, stored)).toEqual({
      through: 4,
      events: [4],
      stopped: true,
      readyAt: recent + IN_FLIGHT_MAX_MS,
    });
  });

  it('covers a missing number once an entry after it is older than any handler runs', () => {
    const stored = [
      { seq: 4, storedAt: settled },
      { seq: 6, storedAt: settled },
      { seq: 9, storedAt: recent },
    ];
    expect(walk(3, stored)).toMatchObject({ through: 6, events: [4, 6], stopped: true });
    expect(
      walkStream(3, stored, NOW + IN_FLIGHT_MAX_MS, new PageBudget(100, 1e6), serveAll),
    ).toEqual({ through: 9, events: [4, 6, 9], stopped: false });
  });

  it('treats entries from before storedAt existed as long settled', () => {
    expect(walk(0, [{ seq: 2 }, { seq: 5 }])).toMatchObject({ through: 5, events: [2, 5] });
  });

  it('covers passed-over numbers (skipped entries) without serving them', () => {
    const stored = [4, 5, 6].map((seq) => ({ seq, storedAt: recent }));
    const skipFive = (entry: StoredNumber): EntryStep<number> =>
      entry.seq === 5 ? { kind: 'pass' } : serveAll(entry);
    expect(walk(3, stored, undefined, skipFive)).toEqual({
      through: 6,
      events: [4, 6],
      stopped: false,
    });
  });

  it('stops before an entry that is not complete yet', () => {
    const stored = [4, 5, 6].map((seq) => ({ seq, storedAt: recent }));
    const waitAtFive = (entry: StoredNumber): EntryStep<number> =>
      entry.seq === 5 ? { kind: 'wait', readyAt: NOW + 5 } : serveAll(entry);
    expect(walk(3, stored, undefined, waitAtFive)).toEqual({
      through: 4,
      events: [4],
      stopped: true,
      readyAt: NOW + 5,
    });
  });

  it('stops where the page is full, by events or by bytes (the first event always fits)', () => {
    const stored = [1, 2, 3, 4].map((seq) => ({ seq, storedAt: recent }));
    expect(walk(0, stored, new PageBudget(2, 1e6))).toEqual({
      through: 2,
      events: [1, 2],
      stopped: true,
    });
    const big = (entry: StoredNumber): EntryStep<number> => ({
      kind: 'event',
      event: entry.seq,
      bytes: 600,
    });
    expect(walk(0, stored, new PageBudget(100, 1000), big)).toMatchObject({
      through: 1,
      events: [1],
      stopped: true,
    });
    expect(walk(0, stored, new PageBudget(100, 10), big)).toMatchObject({ events: [1] });
  });

  it('never goes back: entries at or before the start are ignored', () => {
    expect(walk(10, [{ seq: 9 }, { seq: 10 }])).toEqual({
      through: 10,
      events: [],
      stopped: false,
    });
  });
});

describe('groupRange', () => {
  const head = (logSeq: number, memberIds: string[]) => ({ logSeq, memberIds });

  it('reads from the join on (its own join entry included) while a member', () => {
    expect(
      groupRange('ann', { groupId: 'g', joinSeq: 7 }, head(20, ['ann']), undefined, NOW),
    ).toEqual({
      position: 6,
      range: { stream: 'g:g', after: 6, until: undefined, head: 20 },
    });
    expect(
      groupRange('ann', { groupId: 'g', joinSeq: 7 }, head(20, ['ann']), 12, NOW).range,
    ).toMatchObject({
      after: 12,
    });
  });

  it('reads up to the leave entry and no further, then nothing', () => {
    const row = { groupId: 'g', joinSeq: 3, leftSeq: 9, leftAt: NOW - 1000 };
    expect(groupRange('ann', row, head(30, []), 5, NOW).range).toMatchObject({
      after: 5,
      until: 9,
    });
    expect(groupRange('ann', row, head(30, []), 9, NOW)).toEqual({ position: 9 });
  });

  it('reads nothing more when the group no longer lists a member whose row was not marked left', () => {
    expect(groupRange('ann', { groupId: 'g', joinSeq: 3 }, head(30, ['bob']), 5, NOW)).toEqual({
      position: 5,
    });
  });

  it('skips a group left longer ago than the retention (its entries are gone)', () => {
    const row = { groupId: 'g', joinSeq: 3, leftSeq: 9, leftAt: NOW - 31 * 24 * 3600 * 1000 };
    expect(groupRange('ann', row, head(30, []), 4, NOW)).toEqual({ position: 4 });
  });
});

describe('surplusConnections', () => {
  const connection = (
    id: string,
    deviceId: string,
    connectedAt: number,
    expiresAt = NOW + 1e6,
  ) => ({
    connectionId: id,
    deviceId,
    connectedAt,
    expiresAt,
  });

  it("closes the device's older connection and expired ones", () => {
    const mine = connection('new', 'phone', NOW);
    const listed = [
      connection('old', 'phone', NOW - 10),
      connection('laptop', 'laptop', NOW - 5),
      connection('gone', 'tablet', NOW - 99, NOW - 1),
      mine,
    ];
    expect(
      surplusConnections(listed, mine, NOW)
        .map((c) => c.connectionId)
        .sort(),
    ).toEqual(['gone', 'old']);
  });

  it(`keeps at most ${USER_CONNECTION_CAP} per user, closing the oldest`, () => {
    const mine = connection('mine', 'device-new', NOW);
    const others = Array.from({ length: USER_CONNECTION_CAP + 2 }, (_, i) =>
      connection(`c${i}`, `device-${i}`, NOW - 100 + i),
    );
    const surplus = surplusConnections([...others, mine], mine, NOW);
    expect(surplus.map((c) => c.connectionId).sort()).toEqual(['c0', 'c1', 'c2']);
  });
});

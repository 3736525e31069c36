/** The catch-up contract as the session follows it (docs/protocol.md section 2), against a scripted server. */
import { describe, expect, it } from 'vitest';
import { CipherlineError } from '../../client/session/errors';
import { Inbox, type PageWire } from '../../client/session/inbox';
import type { Json } from '../../client/session/rpc';
import { ManualClock, flush } from '../support/session-fakes';

const event = (stream: string, seq: number | undefined, id: string): Json => ({
  type: 'message',
  stream,
  ...(seq !== undefined && { seq }),
  messageId: id,
});

function setup(pages: (PageWire | Error)[]) {
  const clock = new ManualClock();
  const acks: Record<string, number>[] = [];
  const handled: string[] = [];
  let settled = 0;
  const inbox = new Inbox({
    clock,
    ack: async (through) => {
      acks.push({ ...through });
      const next = pages.shift();
      if (!next) throw new Error('no more pages scripted');
      if (next instanceof Error) throw next;
      return { page: next };
    },
    handle: async (e) => {
      handled.push(e.messageId as string);
    },
    settled: () => settled++,
  });
  return { inbox, clock, acks, handled, settled: () => settled };
}

describe('inbox catch-up', () => {
  it('processes each page, acks exactly its through, and repeats while more', async () => {
    const t = setup([
      { events: [event('g:team', 3, 'c')], through: { inbox: 2, 'g:team': 3 }, more: true },
      { events: [], through: { inbox: 2, 'g:team': 3 }, more: false },
    ]);
    await t.inbox.onPage({
      events: [event('inbox', 1, 'a'), event('inbox', 2, 'b')],
      through: { inbox: 2, 'g:team': 1 },
      more: true,
    });
    expect(t.handled).toEqual(['a', 'b', 'c']);
    expect(t.acks).toEqual([
      { inbox: 2, 'g:team': 1 },
      { inbox: 2, 'g:team': 3 },
    ]);
    expect(t.settled()).toBe(1);
  });

  it('waits retryAfterMs before asking again', async () => {
    const t = setup([
      { events: [event('inbox', 5, 'e')], through: { inbox: 5 }, more: false },
      { events: [], through: { inbox: 5 }, more: false },
    ]);
    const done = t.inbox.onPage({
      events: [],
      through: { inbox: 3 },
      more: true,
      retryAfterMs: 5_000,
    });
    await flush();
    expect(t.acks).toHaveLength(0);
    await t.clock.advance(5_000);
    await done;
    expect(t.acks).toEqual([{ inbox: 3 }, { inbox: 5 }]);
    expect(t.handled).toEqual(['e']);
  });

  it('handles a push at once, then acks its stream with the last through and processes the answer', async () => {
    const t = setup([
      { events: [], through: { inbox: 4 }, more: false },
      { events: [event('inbox', 5, 'live')], through: { inbox: 5 }, more: false },
      { events: [], through: { inbox: 5 }, more: false },
    ]);
    await t.inbox.onPage({
      events: [event('inbox', 4, 'old')],
      through: { inbox: 4 },
      more: false,
    });
    expect(t.acks).toEqual([{ inbox: 4 }]);
    await t.inbox.onPush(event('inbox', undefined, 'live'));
    expect(t.handled).toEqual(['old', 'live']);
    expect(t.acks).toHaveLength(1); // debounced
    await t.clock.advance(200);
    await t.inbox.idle();
    expect(t.acks).toEqual([{ inbox: 4 }, { inbox: 4 }, { inbox: 5 }]);
    // The page answering the push held it again: handled again (the session drops it as seen).
    expect(t.handled).toEqual(['old', 'live', 'live']);
  });

  it('acks a new stream it never had a page for from 0', async () => {
    const t = setup([
      { events: [event('g:new', 1, 'x')], through: { 'g:new': 1 }, more: false },
      { events: [], through: { 'g:new': 1 }, more: false },
    ]);
    await t.inbox.onPush(event('g:new', undefined, 'x'));
    await t.clock.advance(200);
    await t.inbox.idle();
    expect(t.acks).toEqual([{ 'g:new': 0 }, { 'g:new': 1 }]);
  });

  it('stops paging quietly when the connection drops (the next connection starts over)', async () => {
    const t = setup([new CipherlineError('OFFLINE', 'gone')]);
    await t.inbox.onPage({ events: [event('inbox', 1, 'a')], through: { inbox: 1 }, more: true });
    expect(t.handled).toEqual(['a']);
    expect(t.acks).toEqual([{ inbox: 1 }]);
  });

  it('handles events one at a time: a push waits for the page being processed', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const inbox = new Inbox({
      clock,
      ack: async () => ({ page: { events: [], through: { inbox: 1 }, more: false } }),
      handle: async (e) => {
        order.push(`start ${e.messageId as string}`);
        if (e.messageId === 'slow') await new Promise<void>((resolve) => (release = resolve));
        order.push(`end ${e.messageId as string}`);
      },
    });
    const paged = inbox.onPage({
      events: [event('inbox', 1, 'slow')],
      through: { inbox: 1 },
      more: false,
    });
    const pushed = inbox.onPush(event('inbox', undefined, 'fast'));
    await flush();
    release();
    await Promise.all([paged, pushed]);
    expect(order).toEqual(['start slow', 'end slow', 'start fast', 'end fast']);
  });
});

/** The session's connection plumbing: replies, typed errors, re-authentication, heartbeat. */
import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionStatus } from '../../client/session/connection';
import { type CipherlineError, ServerError } from '../../client/session/errors';
import type { Json } from '../../client/session/rpc';
import type { SessionReply } from '../../protocol/commands';
import { WS_LIMITS } from '../../protocol/limits';
import { FakeSocket, ManualClock, flush } from '../support/session-fakes';

function setup(options: { heartbeatMs?: number } = {}) {
  const socket = new FakeSocket();
  const clock = new ManualClock();
  const statuses: ConnectionStatus[] = [];
  const pushes: Json[] = [];
  const authenticated: SessionReply[] = [];
  let ended: CipherlineError | undefined;
  let authAnswer: (frame: Json) => void = (frame) => socket.reply(frame, { userId: 'alice' });
  socket.onFrame = (frame) => {
    if (frame.action === 'resume') authAnswer(frame);
    else if (frame.action === 'ping') socket.reply(frame, { echo: 'x' });
  };
  const connection = new Connection({
    socket,
    clock,
    authenticate: (rpc) => rpc.request('resume', { token: 't' }),
    onAuthenticated: (reply) => authenticated.push(reply),
    onStatus: (status) => statuses.push(status),
    onEnded: (error) => (ended = error),
    onPush: (event) => pushes.push(event),
    heartbeatMs: options.heartbeatMs ?? 240_000,
  });
  return {
    socket,
    clock,
    connection,
    statuses,
    pushes,
    authenticated,
    ended: () => ended,
    setAuthAnswer: (answer: (frame: Json) => void) => (authAnswer = answer),
  };
}

describe('connection', () => {
  it('authenticates on every new connection before it sends commands', async () => {
    const t = setup();
    t.connection.start();
    const reply = t.connection.call('list', {});
    await flush();
    expect(t.socket.sent).toHaveLength(0); // not online yet: the command waits
    t.socket.open();
    await flush();
    expect(t.socket.sent.map((f) => f.action)).toEqual(['resume', 'list']);
    t.socket.reply(t.socket.sent[1]!, { groups: [] });
    await expect(reply).resolves.toMatchObject({ type: 'ok', groups: [] });
    t.socket.drop();
    t.socket.open();
    await flush();
    expect(t.socket.sent.map((f) => f.action)).toEqual(['resume', 'list', 'resume']);
    expect(t.authenticated).toHaveLength(2);
    expect(t.statuses).toEqual([
      'connecting',
      'authenticating',
      'online',
      'connecting',
      'authenticating',
      'online',
    ]);
  });

  it("rejects with the server's code and message, and OFFLINE when the connection drops first", async () => {
    const t = setup();
    t.connection.start();
    t.socket.open();
    await flush();
    const refused = t.connection.call('create', { groupId: 'team' });
    await flush();
    t.socket.replyError(t.socket.sent.at(-1)!, 'CONFLICT', 'The group team exists already.');
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: 'CONFLICT', message: 'The group team exists already.' });

    const dropped = t.connection.call('list', {});
    await flush();
    t.socket.drop();
    await expect(dropped).rejects.toMatchObject({ code: 'OFFLINE' });
  });

  it('never sends a frame over 32 KB: TOO_LARGE before anything leaves, and the connection stays up', async () => {
    const t = setup();
    t.connection.start();
    t.socket.open();
    await flush();
    const frameOf = (pad: number) => ({
      to: 'bob',
      messageId: 'm-12345678',
      envelope: 'A'.repeat(pad),
    });
    const overhead = (pad: number) =>
      JSON.stringify({
        ...frameOf(pad),
        action: 'send',
        id: '00000000-0000-0000-0000-000000000000',
      }).length - pad;
    const fits = WS_LIMITS.maxFrameBytes - overhead(0);
    const tooBig = t.connection.call('send', frameOf(fits + 1), { retry: true });
    await expect(tooBig).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringMatching(
        /"send" was not sent: it needs 32769 bytes, more than the 32768/,
      ),
    });
    expect(t.socket.sent.filter((f) => f.action === 'send')).toHaveLength(0);
    // Non-ASCII text counts in UTF-8 bytes, as the gateway counts it.
    await expect(
      t.connection.call('send', { ...frameOf(0), envelope: 'é'.repeat(fits / 2 + 1) }),
    ).rejects.toMatchObject({ code: 'TOO_LARGE' });
    // Exactly 32 KB is sent, on the same connection.
    const fitting = t.connection.call('send', frameOf(fits));
    await flush();
    const sends = t.socket.sent.filter((f) => f.action === 'send');
    expect(sends).toHaveLength(1);
    expect(JSON.stringify(sends[0]).length).toBe(WS_LIMITS.maxFrameBytes);
    t.socket.reply(sends[0]!, { messageId: 'm-12345678' });
    await expect(fitting).resolves.toMatchObject({ messageId: 'm-12345678' });
    expect(t.socket.connections).toBe(1);
  });

  it('fails every request in flight at once when the connection closes, naming the close', async () => {
    const t = setup();
    t.connection.start();
    t.socket.open();
    await flush();
    const inFlight = [
      t.connection.call('list', {}),
      t.connection.call('members', { groupId: 'g' }),
    ];
    await flush();
    t.socket.drop(1009);
    // No clock advance: nothing waits for the 30 s request timeout.
    for (const call of inFlight)
      await expect(call).rejects.toMatchObject({
        code: 'OFFLINE',
        message: expect.stringMatching(
          /closed \(1009, a frame was too big\) before "(list|members)"/,
        ),
      });
  });

  it('resends an idempotent command after a dropped connection, with the same fields', async () => {
    const t = setup();
    t.connection.start();
    t.socket.open();
    await flush();
    const sent = t.connection.call('send', { to: 'bob', messageId: 'm-12345678' }, { retry: true });
    await flush();
    t.socket.drop();
    t.socket.open();
    await flush();
    const sends = t.socket.sent.filter((f) => f.action === 'send');
    expect(sends).toHaveLength(2);
    expect(sends[1]).toMatchObject({ to: 'bob', messageId: 'm-12345678' });
    expect(sends[1]!.id).not.toBe(sends[0]!.id);
    t.socket.reply(sends[1]!, { messageId: 'm-12345678' });
    await expect(sent).resolves.toMatchObject({ messageId: 'm-12345678' });
  });

  it('times out a command that gets no reply, and one that waits too long for the connection', async () => {
    const t = setup();
    t.connection.start();
    const waiting = t.connection.call('list', {}).catch((e: unknown) => e);
    await t.clock.advance(20_000);
    expect(await waiting).toMatchObject({ code: 'OFFLINE' });
    t.socket.open();
    await flush();
    const silent = t.connection.call('list', {}).catch((e: unknown) => e);
    await t.clock.advance(30_000);
    expect(await silent).toMatchObject({ code: 'TIMEOUT' });
  });

  it('pings after the heartbeat interval without frames, and reconnects when the ping goes unanswered', async () => {
    const t = setup({ heartbeatMs: 240_000 });
    t.connection.start();
    t.socket.open();
    await flush();
    await t.clock.advance(239_000);
    expect(t.socket.sent.filter((f) => f.action === 'ping')).toHaveLength(0);
    await t.clock.advance(2_000);
    expect(t.socket.sent.filter((f) => f.action === 'ping')).toHaveLength(1);
    await t.clock.advance(240_000);
    expect(t.socket.sent.filter((f) => f.action === 'ping')).toHaveLength(2);

    t.socket.onFrame = () => undefined; // the server stops answering
    await t.clock.advance(240_000 + 30_000);
    expect(t.socket.reconnects).toBe(1);
  });

  it('retries a failed resume with back-off and ends the session when it is refused', async () => {
    const t = setup();
    let attempts = 0;
    t.setAuthAnswer((frame) => {
      attempts++;
      if (attempts === 1) t.socket.replyError(frame, 'INTERNAL', 'Something went wrong.');
      else t.socket.replyError(frame, 'UNAUTHENTICATED', 'The session has ended: sign in again.');
    });
    t.connection.start();
    t.socket.open();
    await flush();
    expect(attempts).toBe(1);
    expect(t.connection.status).toBe('authenticating');
    await t.clock.advance(1_000); // the first back-off step is 0.5-1 s
    expect(attempts).toBe(2);
    expect(t.connection.status).toBe('ended');
    expect(t.ended()).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(t.socket.state.status).toBe('stopped');
    await expect(t.connection.call('list')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('hands pushes to the session and ignores replies to frames it did not send', async () => {
    const t = setup();
    t.connection.start();
    t.socket.open();
    await flush();
    t.socket.receive({ type: 'message', stream: 'inbox', from: 'bob', messageId: 'm1' });
    t.socket.receive({ type: 'ok', replyTo: 'not-mine' });
    t.socket.receive({ nonsense: true });
    expect(t.pushes).toEqual([{ type: 'message', stream: 'inbox', from: 'bob', messageId: 'm1' }]);
  });
});

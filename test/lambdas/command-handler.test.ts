/** The route wrapper: one reply per frame, stable codes, nothing leaked to the user or the log. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ProtocolError } from '../../protocol/errors';
import { BaseFrame } from '../../protocol/frames';
import { commandHandler } from '../../lambdas/runtime/command-handler';
import { redactLongTokens, type WebSocketEvent } from '../../lambdas/runtime/route';

const event = (body: string): WebSocketEvent =>
  ({
    body,
    isBase64Encoded: false,
    requestContext: {
      routeKey: 'ping',
      eventType: 'MESSAGE',
      connectionId: 'c1=',
      requestId: 'r1',
      domainName: '127.0.0.1:1',
      stage: 'local',
      requestTimeEpoch: Date.now(),
      connectedAt: Date.now(),
      messageId: 'm1',
      extendedRequestId: 'r1',
      requestTime: '',
      messageDirection: 'IN',
      apiId: 'local',
    },
  }) as unknown as WebSocketEvent;

const Frame = BaseFrame.extend({ secret: z.string() });
const replyOf = async (handler: ReturnType<typeof commandHandler>, body: string) =>
  JSON.parse(((await handler(event(body))) as { body: string }).body) as Record<string, unknown>;

afterEach(() => vi.restoreAllMocks());

describe('commandHandler', () => {
  it('replies ok with the core result and the frame id', async () => {
    const handler = commandHandler('ping', Frame, async (_deps, frame) => ({
      serverTime: frame.secret.length,
    }));
    expect(
      await replyOf(handler, JSON.stringify({ action: 'ping', id: 'f1', secret: 'abc' })),
    ).toEqual({ type: 'ok', replyTo: 'f1', serverTime: 3 });
  });

  it('turns a ProtocolError into its code and message', async () => {
    const handler = commandHandler('ping', Frame, async () => {
      throw new ProtocolError('NOT_FOUND', 'No such user.');
    });
    expect(
      await replyOf(handler, JSON.stringify({ action: 'ping', id: 'f2', secret: 'x' })),
    ).toEqual({
      type: 'error',
      replyTo: 'f2',
      code: 'NOT_FOUND',
      message: 'No such user.',
    });
  });

  it('hides an unexpected failure behind INTERNAL and logs no frame content', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const handler = commandHandler('ping', Frame, async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    const reply = await replyOf(
      handler,
      JSON.stringify({ action: 'ping', id: 'f3', secret: 'MARKER-PLAINTEXT' }),
    );
    expect(reply).toEqual({
      type: 'error',
      replyTo: 'f3',
      code: 'INTERNAL',
      message: 'Something went wrong on our side. Please try again.',
    });
    expect(JSON.stringify(reply)).not.toMatch(/TypeError|at .*:\d+/);
    const lines = logged.mock.calls.map((call) => String(call[0]));
    expect(
      lines.some((line) => line.includes('"route":"ping"') && line.includes('TypeError')),
    ).toBe(true);
    expect(lines.join('\n')).not.toContain('MARKER-PLAINTEXT');
  });

  it('answers INTERNAL instead of a reply API Gateway would not deliver (over 128 KB)', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const handler = commandHandler('ping', Frame, async () => ({
      serverTime: 1,
      huge: 'x'.repeat(130 * 1024),
    }));
    const reply = await replyOf(handler, JSON.stringify({ action: 'ping', id: 'f5', secret: 'x' }));
    expect(reply).toMatchObject({ type: 'error', replyTo: 'f5', code: 'INTERNAL' });
    expect(logged.mock.calls.map((call) => String(call[0])).join('\n')).toContain(
      '"message":"reply too large"',
    );
  });

  it('names the wrong fields and still replies to the frame id', async () => {
    const handler = commandHandler('ping', Frame, async () => ({ serverTime: 1 }));
    const reply = await replyOf(handler, JSON.stringify({ action: 'ping', id: 'f4', secret: 7 }));
    expect(reply).toMatchObject({ type: 'error', replyTo: 'f4', code: 'BAD_REQUEST' });
    expect(reply.message).toContain('secret');
  });

  it('answers a frame without a usable id with an error that has no replyTo', async () => {
    const handler = commandHandler('ping', Frame, async () => ({ serverTime: 1 }));
    const reply = await replyOf(handler, JSON.stringify({ action: 'ping', secret: 'x' }));
    expect(reply).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(reply).not.toHaveProperty('replyTo');
  });
});

describe('redactLongTokens', () => {
  it('keeps the words of an error and drops anything that could be an envelope, key or token', () => {
    const token = 'q3JmV0bX4s1rW9yZkQ2p7T8uV1wX2yZ3aB4cD5eF6g';
    expect(redactLongTokens(`Invalid value ${token} for attribute envelope`)).toBe(
      'Invalid value [redacted] for attribute envelope',
    );
    expect(redactLongTokens('x'.repeat(2000)).length).toBeLessThanOrEqual(500);
  });
});

/** Pushing through @connections: 410 means gone, 429 is retried with back-off (faults injected into the SDK client). */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PUSH_RETRY, postToConnection } from '../../lambdas/runtime/management-api';

const client = new ApiGatewayManagementApiClient({
  endpoint: 'http://127.0.0.1:9/local',
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const throttled = () =>
  new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
const gone = () => new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } });

afterEach(() => vi.restoreAllMocks());

describe('postToConnection', () => {
  it('retries throttling (429) and then delivers', async () => {
    const send = vi
      .spyOn(client, 'send')
      .mockRejectedValueOnce(throttled())
      .mockRejectedValueOnce(throttled())
      .mockResolvedValueOnce({} as never);
    expect(await postToConnection('unused', 'c1=', { type: 'pong', serverTime: 1 }, client)).toBe(
      true,
    );
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('gives up after the last attempt and surfaces the throttling error', async () => {
    const send = vi.spyOn(client, 'send').mockRejectedValue(throttled());
    await expect(
      postToConnection('unused', 'c1=', { type: 'pong', serverTime: 1 }, client),
    ).rejects.toBeInstanceOf(LimitExceededException);
    expect(send).toHaveBeenCalledTimes(PUSH_RETRY.attempts);
  });

  it('answers false for a gone connection (410) without retrying', async () => {
    const send = vi.spyOn(client, 'send').mockRejectedValue(gone());
    expect(await postToConnection('unused', 'c1=', { type: 'pong', serverTime: 1 }, client)).toBe(
      false,
    );
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('does not retry other failures', async () => {
    const send = vi.spyOn(client, 'send').mockRejectedValue(new Error('boom'));
    await expect(
      postToConnection('unused', 'c1=', { type: 'pong', serverTime: 1 }, client),
    ).rejects.toThrow('boom');
    expect(send).toHaveBeenCalledTimes(1);
  });
});

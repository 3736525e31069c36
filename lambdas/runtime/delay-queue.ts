/**
 * Delayed work, such as closing a connection that has not signed in after a grace period. In AWS
 * an SQS queue with DelaySeconds feeds the `reap-unbound` Lambda; the local stack installs an
 * in-process stand-in that invokes the same handler with an SQS-shaped event after the delay.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LocalFunctionAccess } from './env';

export interface UnboundCheck {
  readonly connectionId: string;
  readonly managementEndpoint: string;
}

export interface DelayQueue {
  schedule(task: UnboundCheck, delayMs: number): Promise<void>;
}

export const UNBOUND_QUEUE_ENV = 'UNBOUND_QUEUE_URL';

class SqsDelayQueue implements DelayQueue {
  private readonly sqs = new SQSClient({});
  constructor(private readonly queueUrl: string) {}

  async schedule(task: UnboundCheck, delayMs: number): Promise<void> {
    // SQS delays in whole seconds, at most 15 minutes.
    const delaySeconds = Math.min(900, Math.max(0, Math.ceil(delayMs / 1000)));
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(task),
        DelaySeconds: delaySeconds,
      }),
    );
  }
}

let inProcessQueue: DelayQueue | undefined;
let sqsQueue: DelayQueue | undefined;

/** The local stack's stand-in for SQS (there is no SQS emulator we can run here). */
export function useInProcessDelayQueue(queue: DelayQueue | undefined): void {
  inProcessQueue = queue;
}

/** The queue; locally, `access` (the invocation's grants) must allow sending to it. */
export function delayQueue(access?: LocalFunctionAccess): DelayQueue {
  const url = process.env[UNBOUND_QUEUE_ENV];
  if (url) return (sqsQueue ??= new SqsDelayQueue(url));
  if (inProcessQueue) {
    access?.check('sqs', 'SendMessage');
    return inProcessQueue;
  }
  throw new Error(`Missing environment variable ${UNBOUND_QUEUE_ENV}`);
}

/** Long enough for API Gateway to send the route response before the connection closes. */
export const CLOSE_AFTER_REPLY_MS = 1000;

/** For routes that unbind their own connection: the unbound check closes it after the reply. */
export const scheduleCloseAfterReply = (
  check: UnboundCheck,
  access?: LocalFunctionAccess,
): Promise<void> => delayQueue(access).schedule(check, CLOSE_AFTER_REPLY_MS);

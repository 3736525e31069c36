/**
 * The local stand-in for the SQS delay queue: after the delay it invokes the consuming Lambda
 * handler with an SQS-shaped event, in this process. Timers are cleared when the stack stops.
 */
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { DelayQueue, UnboundCheck } from '../../lambdas/runtime/delay-queue';

export class InProcessDelayQueue implements DelayQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly consumer: (event: SQSEvent) => Promise<SQSBatchResponse | void>) {}

  async schedule(task: UnboundCheck, delayMs: number): Promise<void> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // A record the handler names as failed is logged, not retried: no retries locally
      // (docs/local-cloud.md).
      const run = this.consumer(sqsEvent(task)).then(
        (response) => {
          if (response && response.batchItemFailures.length > 0)
            console.error(JSON.stringify({ level: 'error', message: 'delayed task failed' }));
        },
        (error: unknown) => {
          console.error(
            JSON.stringify({
              level: 'error',
              message: 'delayed task failed',
              error: error instanceof Error ? error.name : 'error',
            }),
          );
        },
      );
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}

function sqsEvent(task: UnboundCheck): SQSEvent {
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body: JSON.stringify(task),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:unbound-connections',
        awsRegion: 'local',
      },
    ],
  };
}

/**
 * Counts the AWS requests the local stack's handlers make, per service and command, through the
 * SDK middleware the local stack puts on every function's own clients (its access guard,
 * infra/local/access-guard.ts): every command sent counts once, before retries. Background
 * functions (the unbound-connection reaper) are left out.
 */
import { observeLocalRequests } from '../../infra/local/access-guard';

export interface RequestCounts {
  dynamodb: number;
  s3: number;
  /** @connections: posts (pushes) and deletes (closes). */
  connections: number;
  /** Per service and command, e.g. `dynamodb UpdateItem`. */
  byCommand: Record<string, number>;
}

const SERVICES: Record<string, keyof Omit<RequestCounts, 'byCommand'>> = {
  DynamoDBClient: 'dynamodb',
  S3Client: 's3',
  ApiGatewayManagementApiClient: 'connections',
};

export class RequestCounter {
  private counts: RequestCounts = RequestCounter.empty();
  private stop?: () => void;

  static empty(): RequestCounts {
    return { dynamodb: 0, s3: 0, connections: 0, byCommand: {} };
  }

  install(): this {
    this.stop = observeLocalRequests(({ functionName, clientName, operation }) => {
      const service = SERVICES[clientName];
      if (!service || /reap/i.test(functionName)) return;
      this.counts[service]++;
      const command = `${service} ${operation}`;
      this.counts.byCommand[command] = (this.counts.byCommand[command] ?? 0) + 1;
    });
    return this;
  }

  uninstall(): void {
    this.stop?.();
  }

  /** The requests made while `work` ran. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; counts: RequestCounts }> {
    this.counts = RequestCounter.empty();
    const result = await work();
    const counts = this.counts;
    this.counts = RequestCounter.empty();
    return { result, counts };
  }
}

/** Shared by the DynamoDB adapters: TTL in epoch seconds (DynamoDB's unit), ms everywhere else. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

export const toTtl = (epochMs: number): number => Math.ceil(epochMs / 1000);
export const fromTtl = (epochSeconds: number): number => epochSeconds * 1000;

/** TTL deletion is late in AWS and absent locally: an expired item reads as absent. */
export function isLive(item: { expiresAt?: unknown } | undefined, nowMs: number): boolean {
  if (!item) return false;
  return typeof item.expiresAt !== 'number' || fromTtl(item.expiresAt) > nowMs;
}

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

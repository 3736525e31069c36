/**
 * How long a handler may run, and the two waits the stream rules (lambdas/shared/stream-walk.ts,
 * lambdas/stores/message-claims.ts) derive from it. A leaf: the CDK stack sets the timeout from
 * here, the stores and cores read the waits.
 */

/** How long a handler may run: API Gateway stops waiting for an integration after 29 s. */
export const HANDLER_TIMEOUT_SECONDS = 28;

/** Longer than any handler runs (its timeout), with room for clock skew between hosts. */
export const IN_FLIGHT_MAX_MS = HANDLER_TIMEOUT_SECONDS * 1000 + 30_000;

/**
 * An attempt that claimed a message id this long ago and has not stored its entry died (no
 * handler outlives its timeout): a retry may take the message over at a new number, since a page
 * may cover the empty one once IN_FLIGHT_MAX_MS has passed (lambdas/stores/message-claims.ts).
 */
export const ATTEMPT_MAX_MS = HANDLER_TIMEOUT_SECONDS * 1000 + 2_000;

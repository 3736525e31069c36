// The reconnection back-off is shared with the terminal client's socket (client/node/).
export { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../../../client/session/backoff';

/** Limits of API Gateway WebSockets (AWS service quotas), enforced identically by the local gateway. */
export const WS_LIMITS = {
  /** One WebSocket frame. */
  maxFrameBytes: 32 * 1024,
  /** One message (its frames together); also the largest PostToConnection payload. */
  maxMessageBytes: 128 * 1024,
  /** No message from the client for this long closes the connection. */
  idleTimeoutMs: 10 * 60 * 1000,
  /** Longest life of one connection. */
  maxConnectionMs: 2 * 60 * 60 * 1000,
} as const;

/**
 * Ciphertext travels as base64 inside JSON text, and a browser sends a message as one frame
 * (32 KB), so an inline envelope is at most 24 KB of base64 (18 KB of bytes); anything bigger
 * (long text included) goes through S3 like a file.
 */
export const MAX_INLINE_ENVELOPE_BASE64_CHARS = 24 * 1024;
export const MAX_INLINE_ENVELOPE_BYTES = (MAX_INLINE_ENVELOPE_BASE64_CHARS / 4) * 3;

/**
 * How far ahead of a verifier's clock a signed time may be (statements, artefacts, signed
 * prekeys, a message against its epoch's successor): phones' clocks drift by minutes. Further
 * ahead is FROM_THE_FUTURE, which is retried later, never a final verdict.
 */
export const CLOCK_SLACK_MS = 5 * 60 * 1000;

/** How long the cloud keeps undelivered messages and blobs (DESIGN.md section 5); clients refuse older envelopes. */
export const RETENTION_DAYS = 30;
export const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;

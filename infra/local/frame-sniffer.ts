/**
 * Reads WebSocket frame headers (RFC 6455 section 5.2) off the raw client byte stream, before
 * `ws` reassembles messages, so the 32 KB per-frame limit of API Gateway can be enforced per
 * frame (ws's `maxPayload` only sees whole messages), and the 128 KB per-message limit with the
 * same close. Payload bytes are skipped, never copied.
 *
 * What API Gateway does, and so what this does: "If a larger message (or larger frame size) is
 * received, the connection is closed with code 1009" (AWS, "Quotas for configuring and running a
 * WebSocket API in API Gateway", docs.aws.amazon.com/apigateway/latest/developerguide/
 * apigateway-execution-service-websocket-limits-table.html); the close reason it sends is
 * "Message too big" (a client's report of the close it got, repost.aws/questions/
 * QUpz6uWU0SSnunjzPrbmLtRg). No reply and no route invocation happen for that frame.
 */
export type FrameViolation = { code: 1003 | 1009; reason: string };

/** API Gateway's close for a frame or message over its limit. */
export const TOO_BIG: FrameViolation = { code: 1009, reason: 'Message too big' };

const FIN = 0x80;
const OPCODE_BINARY = 0x2;
const FIRST_CONTROL_OPCODE = 0x8;

export class FrameSniffer {
  private readonly header = new Uint8Array(14);
  private headerLength = 0;
  private headerNeeded = 2;
  private payloadLeft = 0;
  /** Payload bytes of the data message being received so far (its frames up to the last). */
  private messageBytes = 0;
  private stopped = false;

  constructor(
    private readonly limits: { readonly maxFrameBytes: number; readonly maxMessageBytes: number },
    private readonly onViolation: (violation: FrameViolation) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skipped;
        offset += skipped;
        continue;
      }
      this.header[this.headerLength++] = chunk[offset++]!;
      if (this.headerLength === 2)
        this.headerNeeded = 2 + extendedLengthBytes(this.header[1]!) + maskBytes(this.header[1]!);
      if (this.headerLength === this.headerNeeded) this.frameHeaderComplete();
    }
  }

  private frameHeaderComplete(): void {
    const opcode = this.header[0]! & 0x0f;
    const final = (this.header[0]! & FIN) !== 0;
    const payloadLength = readPayloadLength(this.header);
    this.headerLength = 0;
    this.headerNeeded = 2;
    this.payloadLeft = payloadLength;
    if (opcode === OPCODE_BINARY)
      return this.violate({ code: 1003, reason: 'Binary frames are not supported' });
    if (opcode >= FIRST_CONTROL_OPCODE) return; // ping, pong, close: between a message's frames
    this.messageBytes += payloadLength;
    if (
      payloadLength > this.limits.maxFrameBytes ||
      this.messageBytes > this.limits.maxMessageBytes
    )
      return this.violate(TOO_BIG);
    if (final) this.messageBytes = 0;
  }

  private violate(violation: FrameViolation): void {
    this.stopped = true;
    this.onViolation(violation);
  }
}

function extendedLengthBytes(secondByte: number): number {
  const length7 = secondByte & 0x7f;
  return length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
}

const maskBytes = (secondByte: number): number => (secondByte & 0x80 ? 4 : 0);

function readPayloadLength(header: Uint8Array): number {
  const length7 = header[1]! & 0x7f;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (length7 === 126) return view.getUint16(2);
  if (length7 === 127) return view.getUint32(2) * 2 ** 32 + view.getUint32(6);
  return length7;
}

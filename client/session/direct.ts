/**
 * 1:1 messages: texts (inline up to the envelope limit, longer ones through the blob store as a
 * LONG_TEXT_MIME file), files, and what arrives in the inbox (texts, files, notes to self from my
 * other devices, delivery receipts). Sending names a fresh message id and resends the same frame
 * after a dropped connection (the server keeps one copy per sender and id).
 */
import { checkUsername } from '../../protocol/username';
import { fromBase64, toBase64, utf8 } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import { openDirect, peekEnvelopeHeader, sealDirect } from '../crypto/envelope';
import type { DirectBody } from '../crypto/envelope-payloads';
import { CipherlineError } from './errors';
import type { FileSource } from './ports';
import type { SessionParts } from './parts';
import type { CallServer, Json } from './rpc';
import { LONG_TEXT_MIME, MAX_TEXT_BYTES, bytesSource } from './transfers';
import { missingCase } from '../../protocol/missing-case';

export interface SentMessage {
  readonly messageId: string;
  readonly sentAt: number;
}

export interface SendFileOptions {
  /**
   * The message id to send under (a fresh UUID by default): a UI that names it before sending
   * can match the file's progress events (which carry it) while the upload runs.
   */
  readonly messageId?: string;
}

const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id a send uses: the caller's (a UUID, checked) or a fresh one. */
export function newMessageId(options: SendFileOptions): string {
  const { messageId } = options;
  if (messageId === undefined) return globalThis.crypto.randomUUID();
  if (!MESSAGE_ID.test(messageId))
    throw new CipherlineError('INVALID_INPUT', 'A message id is a lower-case UUID.');
  return messageId;
}

export interface DirectDeps extends SessionParts {
  readonly call: CallServer<'send' | 'sendfile'>;
}

/** The user id for a name typed by a user, or INVALID_INPUT saying why not. */
export function userIdOf(name: string): string {
  const check = checkUsername(name);
  if (!check.ok)
    throw new CipherlineError('INVALID_INPUT', `"${name}" is not a user name: ${check.reason}.`);
  return check.username;
}

export function checkText(text: string): Uint8Array {
  if (text.trim() === '') throw new CipherlineError('INVALID_INPUT', 'The message is empty.');
  const bytes = utf8(text);
  if (bytes.length > MAX_TEXT_BYTES)
    throw new CipherlineError(
      'INVALID_INPUT',
      `The message is longer than ${MAX_TEXT_BYTES / 1024} KiB: send it as a file.`,
    );
  return bytes;
}

export class Direct {
  constructor(private readonly deps: DirectDeps) {}

  async sendText(to: string, text: string): Promise<SentMessage> {
    const recipient = userIdOf(to);
    const bytes = checkText(text);
    const messageId = globalThis.crypto.randomUUID();
    const sentAt = this.deps.clock.now();
    try {
      const envelope = await this.#seal(recipient, messageId, sentAt, { type: 'text', text });
      await this.deps.call('send', { to: recipient, messageId, envelope }, { retry: true });
      return { messageId, sentAt };
    } catch (error) {
      if (!(error instanceof CryptoError) || error.code !== 'TOO_LARGE') throw error;
    }
    // Too long for one frame: through the blob store, like a file.
    return this.#sendFile(
      recipient,
      bytesSource('message.txt', LONG_TEXT_MIME, bytes),
      messageId,
      sentAt,
    );
  }

  async sendFile(
    to: string,
    source: FileSource,
    options: SendFileOptions = {},
  ): Promise<SentMessage> {
    return this.#sendFile(userIdOf(to), source, newMessageId(options), this.deps.clock.now());
  }

  async #sendFile(
    recipient: string,
    source: FileSource,
    messageId: string,
    sentAt: number,
  ): Promise<SentMessage> {
    await this.deps.contacts.bundleToSealTo(recipient); // refuse a changed key before uploading
    const file = await this.deps.transfers.upload(source, messageId);
    const envelope = await this.#seal(recipient, messageId, sentAt, { type: 'file', file });
    await this.deps.call(
      'sendfile',
      { to: recipient, messageId, blobId: file.blobId, envelope },
      { retry: true },
    );
    return { messageId, sentAt };
  }

  async #seal(
    recipient: string,
    messageId: string,
    timestamp: number,
    body: DirectBody,
  ): Promise<string> {
    const envelope = await sealDirect({
      sender: this.deps.keys.keys,
      recipient: await this.deps.contacts.bundleToSealTo(recipient),
      messageId,
      timestamp,
      body,
    });
    return toBase64(envelope);
  }

  /** A `message` event from the inbox (paged or pushed). Never throws: failures are counted. */
  async receive(event: Json): Promise<void> {
    const from = typeof event.from === 'string' ? event.from : undefined;
    const envelopeText = typeof event.envelope === 'string' ? event.envelope : undefined;
    if (!from || !envelopeText) {
      this.deps.unreadable.add('malformed', 'a message without sender or envelope');
      return;
    }
    let open: () => Promise<void>;
    try {
      const envelope = fromBase64(envelopeText);
      open =
        peekEnvelopeHeader(envelope).type === 'backup-note'
          ? () => this.deps.keys.onNote(envelope, from)
          : () => this.#open(envelope, from);
    } catch (error) {
      this.deps.unreadable.addError(error, from);
      return;
    }
    try {
      await open();
    } catch (error) {
      if (error instanceof CryptoError && error.code === 'UNKNOWN_PREKEY') {
        // Sealed to a prekey another device of mine made (a message, or the note to self that
        // announces it): refresh from the backup, which holds it, and try again.
        try {
          await this.deps.keys.refresh();
          await open();
          return;
        } catch (again) {
          this.deps.unreadable.addError(again, from);
          return;
        }
      }
      this.deps.unreadable.addError(error, from);
    }
  }

  async #open(envelope: Uint8Array, from: string): Promise<void> {
    const opened = await openDirect({
      envelope,
      me: this.deps.keys.keys,
      sender: await this.deps.contacts.bundle(from),
      authenticatedSenderId: from,
      expectedType: ['text', 'file', 'receipt'],
      seen: this.deps.state.seen,
      now: this.deps.clock.now(),
    });
    const { header, body } = opened;
    const conversation = { kind: 'direct', with: from } as const;
    switch (body.type) {
      case 'text':
        await this.deps.events.deliver({
          type: 'message',
          conversation,
          from,
          messageId: header.messageId,
          sentAt: header.timestamp,
          text: body.text,
        });
        return;
      case 'file':
        await this.deps.transfers.receive({
          conversation,
          from,
          messageId: header.messageId,
          sentAt: header.timestamp,
          file: body.file,
        });
        return;
      case 'receipt':
        // End-to-end receipts ("read"): shown like the server's delivery receipts.
        for (const messageId of body.receipt.messageIds)
          await this.deps.events.deliver({
            type: 'receipt',
            messageId,
            by: from,
            at: header.timestamp,
          });
        return;
      case 'key-share':
      case 'backup-note':
        throw new CipherlineError('PROTOCOL', `a ${body.type} where a message was expected`);
      default: {
        return missingCase(
          body,
          new CipherlineError('PROTOCOL', `unknown message ${String(body)}`),
        );
      }
    }
  }
}

/** A server-made delivery receipt (`receipt` event): once per recipient and message. */
export async function receiveReceipt(
  event: Json,
  deps: Pick<DirectDeps, 'state' | 'events'>,
): Promise<void> {
  const { from, messageId, at } = event;
  if (typeof from !== 'string' || typeof messageId !== 'string' || typeof at !== 'number') return;
  const key = `receipt:${from.length}:${from}:${messageId}`;
  if (await deps.state.seen.has(key)) return;
  await deps.state.seen.add(key, at);
  await deps.events.deliver({ type: 'receipt', messageId, by: from, at });
}

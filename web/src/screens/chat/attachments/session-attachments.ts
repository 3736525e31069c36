/**
 * One Attachments per signed-in client (docs/web.md "Files in a chat"): the chat screen is made
 * afresh for every chat, but files on their way and their progress belong to the client, so
 * they show again when the user comes back to a chat. A new client (sign-in, another tab giving
 * the device back) gets a new one; the old one goes with its client.
 */
import type { CipherlineClient } from '../../../../../client/session/client';
import type { Session } from '../../../app/session.svelte';
import { Attachments } from './attachments.svelte';

const perClient = new WeakMap<CipherlineClient, Attachments>();

/** The signed-in client's Attachments, made and started on first use. */
export function attachmentsFor(session: Session): Attachments {
  const client = session.client;
  let attachments = perClient.get(client);
  if (!attachments) {
    attachments = new Attachments({
      client,
      files: session.files,
      onSent: (conversation, sent, file) => session.recordSentFile(conversation, sent, file),
    });
    attachments.start(); // ends with the client: its subscribers go with it
    perClient.set(client, attachments);
  }
  return attachments;
}

/**
 * What the composer does with a line: a message to the open chat, or one of the classic
 * commands (`SEND bob hi`, `JOIN team`, `LIST`, ...) parsed by the terminal client's own parser
 * and run by its own runner, answering in the chat.
 *
 * Decided: a line is a command when it starts with a command name in capitals (`LIST`,
 * `SEND bob hi`, as the classic commands are written) or with a slash in any case (`/list`).
 * "send me the photo" or "List of things" stay messages, as anyone typing them means.
 */
import { COMMANDS, parseCommand, type CliCommand } from '../../../../client/commands/parse';
import { runCommand } from '../../../../client/commands/run';
import { CipherlineError, asCipherlineError } from '../../../../client/session/errors';
import type { CipherlineClient } from '../../../../client/session/client';
import type { SentMessage } from '../../../../client/session/direct';
import type { Conversation } from '../../../../client/session/events';

/** What the composer needs of the app's Session (session.svelte.ts), as a plain shape. */
export interface ComposerSession {
  readonly client: CipherlineClient;
  sendText(conversation: Conversation, text: string): Promise<SentMessage>;
  recordSent(conversation: Conversation, sent: SentMessage, text: string): Promise<void>;
  ensureChat(conversation: Conversation): Promise<string>;
}

export type ComposerOutcome =
  { readonly kind: 'message' } | { readonly kind: 'command'; readonly lines: readonly string[] };

/** The command text of a line, or undefined when the line is a message. */
export function commandText(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('/')) return trimmed.slice(1);
  const [first = ''] = trimmed.split(/\s+/, 1);
  const isCapitalCommand =
    first === first.toUpperCase() && Object.hasOwn(COMMANDS, first.toLowerCase());
  return isCapitalCommand ? trimmed : undefined;
}

/** What the browser answers instead of running a command that needs a terminal. */
function browserAnswer(command: CliCommand): string | undefined {
  switch (command.kind) {
    case 'sendfile':
    case 'sendgroupfile':
      return 'In the browser, attach files with the attachment button: a path means nothing here.';
    case 'password':
      return 'Change your password in Settings: it asks for the current and the new one.';
    case 'quit':
      return 'Sign out in Settings; closing the tab is enough to leave (messages wait on the server).';
    default:
      return undefined;
  }
}

/** Sends the line to the chat, or runs it as a command and returns its answer. */
export async function runComposerLine(
  line: string,
  session: ComposerSession,
  conversation: Conversation,
): Promise<ComposerOutcome> {
  const text = commandText(line);
  if (text === undefined) {
    await session.sendText(conversation, line);
    return { kind: 'message' };
  }
  const parsed = parseCommand(text);
  if (!parsed) return { kind: 'command', lines: ['Type a command after the slash, e.g. /LIST.'] };
  if (!parsed.ok) return { kind: 'command', lines: [parsed.message] };
  const refused = browserAnswer(parsed.command);
  if (refused) return { kind: 'command', lines: [refused] };
  const lines: string[] = [];
  try {
    await runCommand(parsed.command, {
      client: session.client,
      print: (printed) => lines.push(printed),
      askSecret: async () => undefined,
      openFile: async () => {
        throw new CipherlineError('INVALID_INPUT', browserAnswer(parsed.command)!);
      },
      sent: (to, sent, content) =>
        'text' in content ? session.recordSent(to, sent, content.text) : undefined,
      joined: async (groupId) => {
        await session.ensureChat({ kind: 'group', groupId });
      },
    });
  } catch (error) {
    lines.push(`error: ${asCipherlineError(error).message}`);
  }
  return { kind: 'command', lines };
}

/**
 * What each classic command does with the client session, and the lines it answers: the terminal
 * client prints them, the PWA's composer shows them in the chat. Runtime-neutral: files and
 * secrets come from the front end. Every failure is a CipherlineError whose message the caller
 * shows; nothing here shows a stack.
 */
import type { CipherlineClient } from '../session/client';
import { userIdOf, type SentMessage } from '../session/direct';
import { CipherlineError } from '../session/errors';
import type { Conversation } from '../session/events';
import { groupIdOf } from '../session/groups';
import type { FileSource } from '../session/ports';
import { helpText, type CliCommand } from './parse';
import { formatSize, formatTime, shortId } from './output';
import { missingCase } from '../../protocol/missing-case';

export interface CommandContext {
  readonly client: CipherlineClient;
  readonly print: (line: string) => void;
  /** Asks for a secret (hidden on a terminal; the next input line otherwise). */
  readonly askSecret: (question: string) => Promise<string | undefined>;
  /** The file a SENDFILE names (a path in a terminal); INVALID_INPUT saying why not. */
  readonly openFile: (path: string) => Promise<FileSource>;
  /** After a message went out (the PWA adds it to the chat's history). */
  readonly sent?: (
    conversation: Conversation,
    sent: SentMessage,
    content: { readonly text: string } | { readonly file: FileSource },
  ) => Promise<void> | void;
  /** After CREATE or JOIN (the PWA lists the group's chat). */
  readonly joined?: (groupId: string) => Promise<void> | void;
}

/** Runs one command; resolves with 'quit' for QUIT. */
export async function runCommand(
  command: CliCommand,
  context: CommandContext,
): Promise<'quit' | void> {
  const { client, print } = context;
  switch (command.kind) {
    case 'send': {
      const sent = await client.sendText(command.user, command.text);
      await context.sent?.({ kind: 'direct', with: userIdOf(command.user) }, sent, {
        text: command.text,
      });
      print(`sent to ${command.user.toLowerCase()} (${shortId(sent.messageId)})`);
      return;
    }
    case 'sendgroup': {
      const sent = await client.groups.sendText(command.group, command.text);
      await context.sent?.({ kind: 'group', groupId: groupIdOf(command.group) }, sent, {
        text: command.text,
      });
      print(`sent to #${command.group.toLowerCase()}`);
      return;
    }
    case 'create': {
      const { groupId } = await client.groups.create(command.group);
      await context.joined?.(groupId);
      print(`created #${groupId}`);
      return;
    }
    case 'join': {
      const joined = await client.groups.join(command.group);
      await context.joined?.(joined.groupId);
      print(
        joined.created
          ? `created and joined #${joined.groupId}`
          : joined.joined
            ? `joined #${joined.groupId}`
            : `already a member of #${joined.groupId}`,
      );
      return;
    }
    case 'list': {
      const groups = await client.groups.list();
      if (groups.length === 0) print('no groups yet');
      for (const group of groups)
        print(`#${group.groupId} ${group.memberCount} member${group.memberCount === 1 ? '' : 's'}`);
      return;
    }
    case 'sendfile':
    case 'sendgroupfile': {
      const source = await context.openFile(command.path);
      if (command.kind === 'sendfile') {
        const sent = await client.sendFile(command.user, source);
        await context.sent?.({ kind: 'direct', with: userIdOf(command.user) }, sent, {
          file: source,
        });
        print(`sent ${source.name} (${formatSize(source.size)}) to ${command.user.toLowerCase()}`);
      } else {
        const sent = await client.groups.sendFile(command.group, source);
        await context.sent?.({ kind: 'group', groupId: groupIdOf(command.group) }, sent, {
          file: source,
        });
        print(
          `sent ${source.name} (${formatSize(source.size)}) to #${command.group.toLowerCase()}`,
        );
      }
      return;
    }
    case 'leave': {
      const left = await client.groups.leave(command.group);
      print(
        `left #${left.groupId} (${left.memberCount} member${left.memberCount === 1 ? '' : 's'} remain)`,
      );
      return;
    }
    case 'members': {
      const members = await client.groups.members(command.group);
      print(
        `#${command.group.toLowerCase()}: ${members.map((m) => `${m.userId}${m.admin ? ' (admin)' : ''}`).join(', ')}`,
      );
      return;
    }
    case 'remove': {
      const change = await client.groups.remove(command.group, command.user);
      const remain = `${change.memberCount} member${change.memberCount === 1 ? '' : 's'} remain`;
      print(
        change.removed
          ? `removed ${change.userId} from #${change.groupId} (${remain})`
          : `${change.userId} is not a member of #${change.groupId} (${remain})`,
      );
      return;
    }
    case 'safety': {
      if (command.accept) {
        await client.acceptKeyChange(command.user);
        print(`the new keys of ${command.user.toLowerCase()} are trusted now`);
        return;
      }
      const number = await client.safetyNumber(command.user);
      print(`safety number with ${number.userId} (compare it with theirs):`);
      print(`  ${number.formatted}`);
      if (number.changed) {
        print(`their keys CHANGED; the safety number with the new keys would be:`);
        print(`  ${number.changed.formatted}`);
        print(`if ${number.userId} confirms it, type SAFETY ${number.userId} ACCEPT`);
      }
      return;
    }
    case 'block': {
      await client.block(command.user);
      print(`blocked ${command.user.toLowerCase()}: their messages and files are dropped`);
      return;
    }
    case 'devices': {
      if (command.remove) {
        await client.removeDevice(command.remove);
        print(
          `signed out device ${command.remove}; change your password (PASSWORD) too if it was lost`,
        );
        return;
      }
      for (const device of await client.devices())
        print(
          `${device.deviceId}  added ${new Date(device.createdAt).toISOString().slice(0, 10)}  last seen ${new Date(device.lastSeenAt).toISOString().slice(0, 10)} ${formatTime(device.lastSeenAt)}${device.current ? '  (this device)' : ''}`,
        );
      return;
    }
    case 'password': {
      const current = await context.askSecret('Current password: ');
      const next = await context.askSecret('New password: ');
      if (!current || !next)
        throw new CipherlineError('INVALID_INPUT', 'Both passwords are needed.');
      await client.changePassword(current, next);
      print('password changed; other devices are signed out and sign in with the new one');
      return;
    }
    case 'whoami': {
      const me = client.whoami();
      print(`${me.userId} on device ${me.deviceId} at ${me.url}`);
      return;
    }
    case 'help':
      for (const line of helpText(command.topic).split('\n')) print(line);
      return;
    case 'quit':
      return 'quit';
    default: {
      return missingCase(
        command,
        new CipherlineError('INVALID_INPUT', `unknown command ${JSON.stringify(command)}`),
      );
    }
  }
}

/**
 * What each terminal command does with the client session, and the lines it prints. Every
 * failure is a CipherlineError whose message the caller prints; nothing here prints a stack.
 */
import { fileSourceFromPath } from '../client/node/files';
import type { CipherlineClient } from '../client/session/client';
import { CipherlineError } from '../client/session/errors';
import { helpText, type CliCommand } from './commands';
import { formatSize, formatTime, shortId } from './output';
import { missingCase } from '../protocol/missing-case';

export interface CommandContext {
  readonly client: CipherlineClient;
  readonly print: (line: string) => void;
  /** Asks for a secret (hidden on a terminal; the next input line otherwise). */
  readonly askSecret: (question: string) => Promise<string | undefined>;
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
      print(`sent to ${command.user.toLowerCase()} (${shortId(sent.messageId)})`);
      return;
    }
    case 'sendgroup': {
      await client.groups.sendText(command.group, command.text);
      print(`sent to #${command.group.toLowerCase()}`);
      return;
    }
    case 'create': {
      const { groupId } = await client.groups.create(command.group);
      print(`created #${groupId}`);
      return;
    }
    case 'join': {
      const joined = await client.groups.join(command.group);
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
      const source = await openSource(command.path);
      if (command.kind === 'sendfile') {
        await client.sendFile(command.user, source);
        print(`sent ${source.name} (${formatSize(source.size)}) to ${command.user.toLowerCase()}`);
      } else {
        await client.groups.sendFile(command.group, source);
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

async function openSource(path: string) {
  try {
    return await fileSourceFromPath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CipherlineError(
      'INVALID_INPUT',
      code === 'ENOENT' ? `There is no file ${path}.` : `${path} cannot be read as a file.`,
    );
  }
}

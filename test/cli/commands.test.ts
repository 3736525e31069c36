/** The terminal client's command language (cli/commands.ts) and its event lines (cli/output.ts). */
import { describe, expect, it } from 'vitest';
import { COMMANDS, helpText, parseCommand } from '../../client/commands/parse';
import { formatEvent, formatSize } from '../../client/commands/output';

const parsed = (line: string) => {
  const result = parseCommand(line);
  if (!result?.ok) throw new Error(`not a command: ${line} (${result?.message})`);
  return result.command;
};
const refused = (line: string) => {
  const result = parseCommand(line);
  if (!result || result.ok) throw new Error(`parsed: ${line}`);
  return result.message;
};

describe('parseCommand', () => {
  it('takes the classic commands in any case, SEND with the whole rest of the line', () => {
    expect(parsed('SEND bob hello   there, "quoted" too')).toEqual({
      kind: 'send',
      user: 'bob',
      text: 'hello   there, "quoted" too',
    });
    expect(parsed('sendGroup team  hi all')).toEqual({
      kind: 'sendgroup',
      group: 'team',
      text: 'hi all',
    });
    expect(parsed('create team')).toEqual({ kind: 'create', group: 'team' });
    expect(parsed('JOIN team')).toEqual({ kind: 'join', group: 'team' });
    expect(parsed('list')).toEqual({ kind: 'list' });
    expect(parsed('SENDFILE /tmp/my photo.png bob')).toEqual({
      kind: 'sendfile',
      path: '/tmp/my photo.png',
      user: 'bob',
    });
    expect(parsed('SENDGROUPFILE "/tmp/a b.bin" team')).toEqual({
      kind: 'sendgroupfile',
      path: '/tmp/a b.bin',
      group: 'team',
    });
    expect(parsed('REMOVE team carol')).toEqual({ kind: 'remove', group: 'team', user: 'carol' });
    expect(parsed('SAFETY bob accept')).toEqual({ kind: 'safety', user: 'bob', accept: true });
    expect(parsed('DEVICES REMOVE d-1')).toEqual({ kind: 'devices', remove: 'd-1' });
    expect(parsed('quit')).toEqual({ kind: 'quit' });
    expect(parseCommand('   ')).toBeUndefined();
  });

  it('answers a malformed command with its usage, an unknown one with HELP', () => {
    expect(refused('SEND bob')).toBe('The message is missing. Usage: SEND <user> <message>');
    expect(refused('SEND')).toBe('Nothing to send. Usage: SEND <user> <message>');
    expect(refused('CREATE a b')).toBe('Name exactly one group. Usage: CREATE <group>');
    expect(refused('SENDFILE onlyapath')).toMatch(/Usage: SENDFILE <path> <user>$/);
    expect(refused('LIST now')).toMatch(/Usage: LIST$/);
    expect(refused('DEVICES drop x')).toMatch(/Usage: DEVICES/);
    expect(refused('FROBNICATE x')).toBe(
      'Unknown command "FROBNICATE". Type HELP for the commands.',
    );
  });

  it('HELP lists every command, or one', () => {
    const help = helpText();
    for (const spec of Object.values(COMMANDS)) expect(help).toContain(spec.usage);
    expect(helpText('sendfile')).toMatch(/^SENDFILE <path> <user> {2}/);
    expect(helpText('nope')).toMatch(/^Unknown command/);
  });
});

describe('formatEvent', () => {
  const at = new Date(2026, 0, 2, 9, 5).getTime();
  it('prints time, group and sender, and a key-change warning', () => {
    expect(
      formatEvent({
        type: 'message',
        conversation: { kind: 'group', groupId: 'team' },
        from: 'bob',
        messageId: 'm-1',
        text: 'hi',
        sentAt: at,
      }),
    ).toBe('[09:05] #team bob: hi');
    expect(formatEvent({ type: 'key-change', userId: 'bob' } as never)).toMatch(
      /^WARNING: the keys of bob have changed/,
    );
    expect(formatEvent({ type: 'progress' } as never)).toBeUndefined();
  });

  it('sizes in binary units', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(200_000)).toBe('195 KiB');
    expect(formatSize(20 * 1024 * 1024)).toBe('20 MiB');
    expect(formatSize(1536)).toBe('1.5 KiB');
  });
});

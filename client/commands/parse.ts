/**
 * The classic command language, shared by the terminal client (one command per line) and the
 * PWA's composer: the classic commands of DESIGN.md section 1 plus the account and group commands
 * of issue 13, case-insensitive. Parsing is pure: a line becomes a typed command or the usage of
 * the command it tried to be.
 */

export type CliCommand =
  | { readonly kind: 'send'; readonly user: string; readonly text: string }
  | { readonly kind: 'sendgroup'; readonly group: string; readonly text: string }
  | { readonly kind: 'create'; readonly group: string }
  | { readonly kind: 'join'; readonly group: string }
  | { readonly kind: 'list' }
  | { readonly kind: 'sendfile'; readonly path: string; readonly user: string }
  | { readonly kind: 'sendgroupfile'; readonly path: string; readonly group: string }
  | { readonly kind: 'leave'; readonly group: string }
  | { readonly kind: 'members'; readonly group: string }
  | { readonly kind: 'remove'; readonly group: string; readonly user: string }
  | { readonly kind: 'safety'; readonly user: string; readonly accept: boolean }
  | { readonly kind: 'block'; readonly user: string }
  | { readonly kind: 'devices'; readonly remove?: string }
  | { readonly kind: 'password' }
  | { readonly kind: 'whoami' }
  | { readonly kind: 'help'; readonly topic?: string }
  | { readonly kind: 'quit' };

export type CommandName = CliCommand['kind'];

export type ParseResult =
  | { readonly ok: true; readonly command: CliCommand }
  | { readonly ok: false; readonly message: string };

interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
}

export const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  send: { usage: 'SEND <user> <message>', summary: 'send a message to a user' },
  sendgroup: { usage: 'SENDGROUP <group> <message>', summary: 'send a message to a group' },
  create: { usage: 'CREATE <group>', summary: 'create a group (an error if it exists)' },
  join: { usage: 'JOIN <group>', summary: 'join a group, creating it first if it does not exist' },
  list: { usage: 'LIST', summary: 'every group with its number of members' },
  sendfile: { usage: 'SENDFILE <path> <user>', summary: 'send a file of any type to a user' },
  sendgroupfile: { usage: 'SENDGROUPFILE <path> <group>', summary: 'send a file to a group' },
  leave: { usage: 'LEAVE <group>', summary: 'leave a group' },
  members: { usage: 'MEMBERS <group>', summary: "a group's members" },
  remove: { usage: 'REMOVE <group> <user>', summary: 'remove a member (group admins only)' },
  safety: {
    usage: 'SAFETY <user> [ACCEPT]',
    summary: 'the safety number to compare with a contact; ACCEPT trusts their changed keys',
  },
  block: { usage: 'BLOCK <user>', summary: 'stop receiving messages and files from a user' },
  devices: {
    usage: 'DEVICES [REMOVE <device id>]',
    summary: "this account's devices; REMOVE signs one out",
  },
  password: { usage: 'PASSWORD', summary: 'change the password (asks for the old and new one)' },
  whoami: { usage: 'WHOAMI', summary: 'who is signed in here, on which device and server' },
  help: { usage: 'HELP [command]', summary: 'this list, or one command' },
  quit: { usage: 'QUIT', summary: 'leave the client (messages wait on the server)' },
};

const usage = (kind: CommandName, problem: string): ParseResult => ({
  ok: false,
  message: `${problem}. Usage: ${COMMANDS[kind].usage}`,
});

/** A word, with surrounding quotes removed ("my file.txt" is one word). */
function words(text: string): string[] {
  const found: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text))
    found.push(match[1] ?? match[2] ?? match[3] ?? '');
  return found;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  const quoted = /^(["'])(.*)\1$/.exec(trimmed);
  return quoted ? quoted[2]! : trimmed;
}

const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** The command on `line`, or undefined for a blank line. */
export function parseCommand(line: string): ParseResult | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  const [first = ''] = trimmed.split(/\s+/, 1);
  const name = first.toLowerCase();
  const rest = trimmed.slice(first.length).trim();
  if (!isCommandName(name))
    return { ok: false, message: `Unknown command "${first}". Type HELP for the commands.` };
  const args = words(rest);
  switch (name) {
    case 'send':
    case 'sendgroup': {
      const target = /^(\S+)\s+([\s\S]+)$/.exec(rest);
      if (!target) return usage(name, rest ? 'The message is missing' : 'Nothing to send');
      return name === 'send'
        ? { ok: true, command: { kind: 'send', user: target[1]!, text: target[2]! } }
        : { ok: true, command: { kind: 'sendgroup', group: target[1]!, text: target[2]! } };
    }
    case 'create':
    case 'join':
    case 'leave':
    case 'members':
      if (args.length !== 1) return usage(name, 'Name exactly one group');
      return { ok: true, command: { kind: name, group: args[0]! } };
    case 'block':
      if (args.length !== 1) return usage(name, 'Name exactly one user');
      return { ok: true, command: { kind: name, user: args[0]! } };
    case 'safety': {
      const accept = args.length === 2 && args[1]!.toLowerCase() === 'accept';
      if (args.length !== 1 && !accept) return usage(name, 'Name exactly one user');
      return { ok: true, command: { kind: 'safety', user: args[0]!, accept } };
    }
    case 'sendfile':
    case 'sendgroupfile': {
      // The target is the last word; everything before it is the path (spaces allowed).
      const target = /^([\s\S]+?)\s+(\S+)$/.exec(rest);
      if (!target) return usage(name, 'Name a file and a recipient');
      const path = unquote(target[1]!);
      return name === 'sendfile'
        ? { ok: true, command: { kind: 'sendfile', path, user: target[2]! } }
        : { ok: true, command: { kind: 'sendgroupfile', path, group: target[2]! } };
    }
    case 'remove':
      if (args.length !== 2) return usage(name, 'Name a group and a user');
      return { ok: true, command: { kind: 'remove', group: args[0]!, user: args[1]! } };
    case 'devices':
      if (args.length === 0) return { ok: true, command: { kind: 'devices' } };
      if (args.length === 2 && args[0]!.toLowerCase() === 'remove')
        return { ok: true, command: { kind: 'devices', remove: args[1]! } };
      return usage(name, 'Unexpected arguments');
    case 'help':
      if (args.length > 1) return usage(name, 'Name at most one command');
      return { ok: true, command: { kind: 'help', ...(args[0] && { topic: args[0] }) } };
    case 'list':
    case 'password':
    case 'whoami':
    case 'quit':
      if (args.length > 0) return usage(name, `${name.toUpperCase()} takes no arguments`);
      return { ok: true, command: { kind: name } };
    default: {
      const unreachable: never = name;
      return { ok: false, message: `Unknown command "${String(unreachable)}".` };
    }
  }
}

/** HELP's text: every command, or one. */
export function helpText(topic?: string): string {
  if (topic !== undefined) {
    const name = topic.toLowerCase();
    if (!isCommandName(name)) return `Unknown command "${topic}". Type HELP for the commands.`;
    return `${COMMANDS[name].usage}  ${COMMANDS[name].summary}`;
  }
  const width = Math.max(...Object.values(COMMANDS).map((spec) => spec.usage.length));
  return [
    'Commands (case does not matter):',
    ...Object.values(COMMANDS).map((spec) => `  ${spec.usage.padEnd(width)}  ${spec.summary}`),
  ].join('\n');
}

/**
 * The terminal client: `npm run client -- --url <ws url> --user <name> [--signup]
 * [--recovery-key] [--data <folder>]`. Signs up, signs in (restoring the keys from the backup on a
 * new data folder) or resumes the session kept in the data folder, prints what arrives, and runs
 * the classic commands typed (or piped) one per line. The password comes from a hidden prompt or
 * CIPHERLINE_PASSWORD; no stack trace is ever printed.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FileKeyValueStore } from '../client/node/file-store';
import { DownloadsFolder } from '../client/node/files';
import { createNodeWorkerChunkCipher } from '../client/node/file-worker-pool';
import { FolderInUseError, lockFolder } from '../client/node/folder-lock';
import { connectNodeSocket } from '../client/node/reconnecting-socket';
import {
  allowWeakKdfForTests,
  TEST_KDF_COST,
  type Argon2Cost,
} from '../client/crypto/kdf-settings';
import { formatRecoveryKey } from '../client/crypto/recovery-key';
import { CipherlineClient } from '../client/session/client';
import { CipherlineError, ServerError, asCipherlineError } from '../client/session/errors';
import type { ClientEvent } from '../client/session/events';
import { parseCommand } from '../client/commands/parse';
import { formatEvent, formatSize } from '../client/commands/output';
import { runCommand } from '../client/commands/run';
import { openSource } from './open-source';
import { Terminal } from './terminal';

const DEFAULT_URL = 'ws://127.0.0.1:3001/local';
const USAGE =
  'Usage: npm run client -- --user <name> [--url <ws url>] [--signup] [--recovery-key] [--data <folder>]';
/** Files at least this big show their progress. */
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

interface Options {
  readonly url: string;
  readonly user: string;
  readonly signup: boolean;
  readonly recoveryKey: boolean;
  readonly data?: string;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options {
  let url = DEFAULT_URL;
  let user: string | undefined;
  let data: string | undefined;
  let signup = false;
  let recoveryKey = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--'))
        throw new UsageError(`${arg} needs a value.`);
      return next;
    };
    if (arg === '--url') url = value();
    else if (arg === '--user') user = value();
    else if (arg === '--data') data = value();
    else if (arg === '--signup') signup = true;
    else if (arg === '--recovery-key') recoveryKey = true;
    else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else throw new UsageError(`Unknown option ${arg}.`);
  }
  if (!user) throw new UsageError('Name the account with --user <name>.');
  if (recoveryKey && !signup) throw new UsageError('--recovery-key goes with --signup.');
  return { url, user, signup, recoveryKey, ...(data && { data }) };
}

/** ~/.local/share/cipherline/<server>/<user>: one device per server and account. */
function defaultDataFolder(url: string, user: string): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  const server = url.replace(/^wss?:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '_');
  return join(base, 'cipherline', server, user.toLowerCase());
}

async function main(): Promise<number> {
  const terminal = new Terminal();
  const print = (line: string) => terminal.print(line);
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError && error.message) print(`error: ${error.message}`);
    print(USAGE);
    terminal.close();
    return 2;
  }
  let kdfCost: Argon2Cost | undefined;
  try {
    kdfCost = weakKdfForTests();
  } catch {
    print(
      'error: CIPHERLINE_TEST_WEAK_KDF is for tests; this production build never lowers the password hash.',
    );
    terminal.close();
    return 2;
  }
  const folder = options.data ?? defaultDataFolder(options.url, options.user);
  let release: () => void;
  try {
    release = lockFolder(
      folder,
      (owner) =>
        new FolderInUseError(
          `The data folder ${folder} is in use by another Cipherline client (pid ${owner}): one process per device. Quit that one, or use --data <another folder>.`,
          owner,
        ),
    );
  } catch (error) {
    print(`error: ${error instanceof Error ? error.message : String(error)}`);
    terminal.close();
    return 1;
  }
  const store = await FileKeyValueStore.open(join(folder, 'device'));
  const client = await CipherlineClient.open({
    url: options.url,
    connect: connectNodeSocket,
    store,
    files: new DownloadsFolder(join(folder, 'downloads')),
    cipher: () => createNodeWorkerChunkCipher(2, bundledWorkerEntry()),
    ...(kdfCost && { kdfCost }),
  });
  let quitting = false;
  let ended: (() => void) | undefined;
  const sessionEnded = new Promise<void>((resolve) => (ended = resolve));
  client.subscribe(printEvents(print, () => ended?.()));
  const shutdown = async () => {
    quitting = true;
    await client.close();
    store.close();
    await store.flush();
    release();
    terminal.close();
  };

  try {
    await start(client, options, terminal, print);
  } catch (error) {
    print(`error: ${asCipherlineError(error).message}`);
    await shutdown();
    return 1;
  }
  const me = client.whoami();
  print(`Signed in as ${me.userId} (device ${me.deviceId}). Type HELP for the commands.`);

  const commands = (async () => {
    for (;;) {
      terminal.prompt();
      const line = await terminal.nextLine();
      if (line === undefined || quitting) return;
      const parsed = parseCommand(line);
      if (!parsed) continue;
      if (!parsed.ok) {
        print(parsed.message);
        continue;
      }
      try {
        const outcome = await runCommand(parsed.command, {
          client,
          print,
          askSecret: (question) => terminal.ask(question, { hidden: true }),
          openFile: openSource,
        });
        if (outcome === 'quit') return;
      } catch (error) {
        print(`error: ${asCipherlineError(error).message}`);
      }
    }
  })();
  const reason = await Promise.race([
    commands.then(() => 'done' as const),
    sessionEnded.then(() => 'ended' as const),
  ]);
  if (reason === 'done') await client.idle(); // what arrived before QUIT (or the end of input) is shown
  await shutdown();
  return reason === 'ended' ? 1 : 0;
}

async function start(
  client: CipherlineClient,
  options: Options,
  terminal: Terminal,
  print: (line: string) => void,
): Promise<void> {
  if (options.signup) {
    if (client.canResume)
      throw new CipherlineError(
        'INVALID_INPUT',
        `This data folder already holds the account ${client.whoami().userId}: start without --signup.`,
      );
    const password = await secret(terminal, 'CIPHERLINE_PASSWORD', 'Choose a password: ');
    const result = await client.signup({
      username: options.user,
      password,
      recoveryKey: options.recoveryKey,
    });
    if (result.recoveryKey) {
      print('Your recovery key (shown ONCE; write it down and keep it safe):');
      print(`  ${formatRecoveryKey(result.recoveryKey)}`);
      print(
        'WARNING: your keys are backed up under this key, not your password. Without it a new device cannot restore your account.',
      );
    }
    return;
  }
  if (client.canResume) {
    try {
      await client.resume();
      return;
    } catch (error) {
      if (!(error instanceof ServerError)) throw error;
      print(`The session kept here ended (${error.message}); sign in again.`);
    }
  }
  const password = await secret(terminal, 'CIPHERLINE_PASSWORD', `Password for ${options.user}: `);
  try {
    await client.signin({ username: options.user, password });
  } catch (error) {
    if (!(error instanceof CipherlineError) || error.code !== 'RECOVERY_KEY_NEEDED') throw error;
    print(error.message);
    const recoveryKey = await secret(terminal, 'CIPHERLINE_RECOVERY_KEY', 'Recovery key: ');
    await client.signin({ username: options.user, password, recoveryKey });
  }
}

async function secret(terminal: Terminal, variable: string, question: string): Promise<string> {
  const fromEnvironment = process.env[variable];
  if (fromEnvironment) return fromEnvironment;
  if (!terminal.interactive)
    throw new CipherlineError('INVALID_INPUT', `No terminal to ask on: set ${variable}.`);
  const answer = await terminal.ask(question, { hidden: true });
  if (!answer) throw new CipherlineError('INVALID_INPUT', 'Nothing was typed.');
  return answer;
}

/** Prints events; progress of big files in steps of 25 % per stage. */
function printEvents(print: (line: string) => void, onEnded: () => void) {
  let wasOnline = false;
  const shownShare = new Map<string, number>();
  return (event: ClientEvent) => {
    if (event.type === 'connection') {
      if (event.status === 'online' && wasOnline) print('back online');
      if (event.status === 'connecting' && wasOnline) print('connection lost; reconnecting...');
      if (event.status === 'online') wasOnline = true;
      return;
    }
    if (event.type === 'progress') {
      const { stage, done, total } = event.progress;
      if (total < PROGRESS_MIN_BYTES) return;
      const key = `${event.messageId}/${stage}`;
      const step = Math.floor((done / total) * 4) * 25;
      if (step <= (shownShare.get(key) ?? -1)) return;
      shownShare.set(key, step);
      print(
        `${event.direction === 'send' ? 'sending' : 'receiving'} ${event.name} (${formatSize(total)}): ${stage} ${step}%`,
      );
      return;
    }
    const line = formatEvent(event);
    if (line) print(line);
    if (event.type === 'session-ended') onEnded();
  };
}

/** CIPHERLINE_TEST_WEAK_KDF=1: a cheap password hash for tests; a production build refuses it. */
function weakKdfForTests() {
  if (process.env.CIPHERLINE_TEST_WEAK_KDF !== '1') return undefined;
  allowWeakKdfForTests();
  return TEST_KDF_COST;
}

declare const __CIPHERLINE_CLI_BUNDLE__: boolean | undefined;

/** In the one-file build the chunk workers run this same file (cli/entry.ts); from source, the
 * pool finds its own entry. */
function bundledWorkerEntry(): URL | undefined {
  return typeof __CIPHERLINE_CLI_BUNDLE__ !== 'undefined' && __CIPHERLINE_CLI_BUNDLE__
    ? new URL(import.meta.url)
    : undefined;
}

export async function runCli(): Promise<void> {
  process.on('unhandledRejection', (error) => {
    process.stdout.write(`error: ${asCipherlineError(error).message}\n`);
  });
  process.on('uncaughtException', (error) => {
    process.stdout.write(`error: ${asCipherlineError(error).message}\n`);
    process.exit(1);
  });
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stdout.write(`error: ${asCipherlineError(error).message}\n`);
    process.exitCode = 1;
  }
}

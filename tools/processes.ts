/** Runs `npm start` as a user would (own process group, so a signal reaches it like Ctrl-C). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

export interface StartedProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the output once a line matches, rejects if the process ends first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  interrupt(): void;
}

export function npmStart(args: readonly string[], cwd: string): StartedProcess {
  return startDetached('npm', ['start', '--silent', '--', ...args], cwd);
}

/** `npm start`'s command run by node directly, with node flags that NODE_OPTIONS refuses
 * (`--cpu-prof`): bench:load profiles the stack this way. */
export function nodeStart(
  nodeFlags: readonly string[],
  args: readonly string[],
  cwd: string,
): StartedProcess {
  return startDetached(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', 'infra/local/start.ts', ...args],
    cwd,
  );
}

function startDetached(file: string, args: readonly string[], cwd: string): StartedProcess {
  const child = spawn(file, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // 'close' waits for the pipes too, i.e. for the stack under npm, not only npm itself.
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  return {
    child,
    output: () => output,
    exited,
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
    waitForLine: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = output.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        void exited.then((code) => {
          if (!listeners.has(check)) return;
          cleanup();
          reject(new Error(`exited with ${code} before ${pattern}; output:\n${output}`));
        });
        listeners.add(check);
        check();
      }),
  };
}

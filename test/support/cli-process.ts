/** The terminal client as a child process, driven through standard input like a script would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../infra/local/stack';

export interface CliOptions {
  readonly url: string;
  readonly user: string;
  readonly data: string;
  readonly password: string;
  readonly signup?: boolean;
  readonly recoveryKey?: boolean;
  readonly env?: Record<string, string>;
  /** Run this built file (npm run build:cli) instead of the sources. */
  readonly built?: string;
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #output = '';
  /** Where the next `waitFor` starts looking: lines matched before are not matched again. */
  #cursor = 0;
  readonly #listeners = new Set<() => void>();

  constructor(readonly options: CliOptions) {
    const args = [
      ...(options.built ? [options.built] : ['--import', 'tsx', join(REPO_ROOT, 'cli/entry.ts')]),
      '--url',
      options.url,
      '--user',
      options.user,
      '--data',
      options.data,
      ...(options.signup ? ['--signup'] : []),
      ...(options.recoveryKey ? ['--recovery-key'] : []),
    ];
    this.child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, CIPHERLINE_PASSWORD: options.password, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      this.#output += chunk.toString();
      for (const listener of [...this.#listeners]) listener();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  get output(): string {
    return this.#output;
  }

  /** Every complete output line so far. */
  lines(): string[] {
    return this.#output.split('\n').slice(0, -1);
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Ends standard input (the client finishes what it was doing and exits). */
  endInput(): void {
    this.child.stdin!.end();
  }

  /** Waits for an output line after the last matched one that matches; returns it. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const lines = this.lines();
        for (let i = this.#cursor; i < lines.length; i++) {
          if (!pattern.test(lines[i]!)) continue;
          this.#cursor = i + 1;
          cleanup();
          resolve(lines[i]!);
          return;
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `${this.options.user}: no line matching ${pattern} within ${timeoutMs} ms. Output:\n${this.#output}`,
          ),
        );
      }, timeoutMs);
      const onExit = () => {
        check();
        if (!this.#listeners.has(check)) return;
        cleanup();
        reject(
          new Error(`${this.options.user} exited before ${pattern}. Output:\n${this.#output}`),
        );
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      void this.exited.then(onExit);
      check();
    });
  }

  /** Sends a command and waits for the line that answers it. */
  async run(command: string, answer: RegExp, timeoutMs?: number): Promise<string> {
    this.send(command);
    return this.waitFor(answer, timeoutMs);
  }

  /** QUIT, and the exit code. */
  async quit(): Promise<number | null> {
    if (this.child.exitCode === null) this.send('QUIT');
    return this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

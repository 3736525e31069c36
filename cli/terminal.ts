/**
 * The terminal itself: commands line by line, a hidden prompt for passwords, and printing that
 * does not tear up the line being typed. On a terminal (TTY) there is a "> " prompt and lines
 * printed meanwhile appear above it; otherwise (a pipe, a script) it reads plain lines and prints
 * plain lines, nothing else.
 */
import { createInterface, type Interface } from 'node:readline';

type MutableInterface = Interface & { _writeToOutput?: (text: string) => void };

export class Terminal {
  readonly interactive: boolean;
  readonly #rl: MutableInterface;
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];
  #ended = false;
  #muted = false;

  constructor(
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stdout,
  ) {
    this.interactive = Boolean(input.isTTY && output.isTTY);
    this.#rl = createInterface({
      input,
      ...(this.interactive && { output, prompt: '> ' }),
      terminal: this.interactive,
    }) as MutableInterface;
    if (this.interactive) {
      const write = this.#rl._writeToOutput?.bind(this.#rl);
      this.#rl._writeToOutput = (text: string) => {
        if (!this.#muted) write?.(text);
        else if (text.includes('\n')) output.write('\n');
      };
    }
    this.#rl.on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
    this.#rl.on('close', () => {
      this.#ended = true;
      for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    });
  }

  /** The next line typed or piped in; undefined at the end of the input. */
  nextLine(): Promise<string | undefined> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  prompt(): void {
    if (this.interactive) this.#rl.prompt(true);
  }

  /** Asks a question; `hidden` does not echo what is typed (passwords). Without a terminal the
   * answer is the next input line. */
  async ask(question: string, options: { hidden?: boolean } = {}): Promise<string | undefined> {
    if (!this.interactive) return this.nextLine();
    this.output.write(question);
    this.#muted = options.hidden ?? false;
    try {
      return await this.nextLine();
    } finally {
      this.#muted = false;
    }
  }

  /** Prints a line above the prompt. */
  print(line: string): void {
    if (this.interactive) {
      this.output.write('\r\x1b[2K');
      this.output.write(`${line}\n`);
      this.#rl.prompt(true);
    } else {
      this.output.write(`${line}\n`);
    }
  }

  close(): void {
    this.#rl.close();
  }
}

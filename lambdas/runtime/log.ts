/**
 * Structured JSON log lines. Never pass a frame body, ciphertext, token, password or key here:
 * log ids, route names, codes and timings only.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

type Fields = Record<string, string | number | boolean | undefined>;

function write(level: Level, message: string, fields: Fields): void {
  const threshold = (process.env.LOG_LEVEL as Level | undefined) ?? 'info';
  if (ORDER[level] < (ORDER[threshold] ?? ORDER.info)) return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
}

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

const withFields = (bound: Fields): Logger => ({
  debug: (message, fields = {}) => write('debug', message, { ...bound, ...fields }),
  info: (message, fields = {}) => write('info', message, { ...bound, ...fields }),
  warn: (message, fields = {}) => write('warn', message, { ...bound, ...fields }),
  error: (message, fields = {}) => write('error', message, { ...bound, ...fields }),
});

/** Lines outside an invocation (the local stack's own). */
export const log: Logger = withFields({});

/**
 * The logger of one invocation: every line carries its request id and whether the invocation was
 * a cold start, the two fields Lambda Powertools' logger adds (docs/server.md, Logs).
 */
export const requestLog = (requestId: string, coldStart: boolean): Logger =>
  withFields({ requestId, coldStart });

/**
 * One per handler module: true for its first invocation, false after. In AWS a module is loaded
 * once per container, so this is the container's cold start; locally, the function's first call.
 */
export function coldStarts(): () => boolean {
  let warm = false;
  return () => {
    const cold = !warm;
    warm = true;
    return cold;
  };
}

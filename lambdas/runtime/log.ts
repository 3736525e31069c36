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

export const log = {
  debug: (message: string, fields: Fields = {}) => write('debug', message, fields),
  info: (message: string, fields: Fields = {}) => write('info', message, fields),
  warn: (message: string, fields: Fields = {}) => write('warn', message, fields),
  error: (message: string, fields: Fields = {}) => write('error', message, fields),
};

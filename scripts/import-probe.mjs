/**
 * Run in a fresh Node process with a module URL: imports it the way the Lambda runtime imports a
 * handler and prints one JSON line: the Node version, how long the import took (wall time, and
 * the CPU time this process spent, which other load on the machine hardly changes), and whether
 * the module exports a `handler` function. With a second argument (a JSON file of an event), it also
 * invokes the handler on that event and adds its result.
 */
import { readFileSync } from 'node:fs';

const [url, eventFile] = process.argv.slice(2);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const module = await import(url);
const importMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const result = {
  version: process.version,
  importMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  handler: typeof module.handler === 'function',
};
if (eventFile && result.handler) {
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));
  result.invoked = await module.handler(event, { functionName: 'import-probe' });
}
process.stdout.write(`${JSON.stringify(result)}\n`);

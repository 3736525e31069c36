// Starts a worker thread on a TypeScript entry: Node 20 cannot load .ts by itself, so register
// tsx's loader in this thread first (harmless when the parent already runs under tsx). A built,
// .js entry is imported as is.
import { workerData } from 'node:worker_threads';

const entry = String(workerData.entry);
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);

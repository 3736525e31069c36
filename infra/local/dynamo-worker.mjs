// dynalite in its own thread, so the local DynamoDB does not share an event loop (and a core)
// with the gateway and the handlers. Plain JavaScript: worker threads do not go through tsx.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite({
  path: workerData.path,
  createTableMs: 0,
  deleteTableMs: 0,
  updateTableMs: 0,
});
server.once('error', (error) =>
  parentPort.postMessage({
    error: { code: error.code, port: workerData.port, message: error.message },
  }),
);
server.listen(workerData.port, workerData.host, () =>
  parentPort.postMessage({ port: server.address().port }),
);
parentPort.on('message', (message) => {
  if (message === 'close') server.close(() => parentPort.postMessage({ closed: true }));
});

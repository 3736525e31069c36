import { SendFileFrame } from '../../protocol/blobs';
import { sendfile } from '../core/blobs';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sendfile', SendFileFrame, (frame, context) =>
  sendfile(serverDeps(), frame, context),
);

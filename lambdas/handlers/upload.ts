import { UploadFrame } from '../../protocol/blobs';
import { upload } from '../core/blobs';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('upload', UploadFrame, (frame, context) =>
  upload(serverDeps(), frame, context),
);

import { DownloadFrame } from '../../protocol/blobs';
import { download } from '../core/blobs';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('download', DownloadFrame, (frame, context) =>
  download(serverDeps(), frame, context),
);

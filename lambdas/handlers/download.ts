import { DownloadFrame } from '../../protocol/blobs';
import { download } from '../core/blobs';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('download', DownloadFrame, download);

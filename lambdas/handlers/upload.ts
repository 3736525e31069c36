import { UploadFrame } from '../../protocol/blobs';
import { upload } from '../core/blobs';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('upload', UploadFrame, upload);

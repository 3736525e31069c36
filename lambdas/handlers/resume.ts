import { ResumeFrame } from '../../protocol/commands';
import { resume } from '../core/accounts';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('resume', ResumeFrame, (frame, context) =>
  resume(serverDeps(), frame, context),
);

import { CreateFrame } from '../../protocol/groups';
import { createGroup } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('create', CreateFrame, createGroup);

import { CreateFrame } from '../../protocol/groups';
import { createGroup } from '../core/groups';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('create', CreateFrame, createGroup);

/**
 * `devices` (list, remove, invite). A session counts only while its device exists and did not end
 * its sessions after the session began (lambdas/stores/devices.ts DeviceRecord), so ending
 * sessions never has to find them: removing the device ends them, then its connections close.
 */
import { ProtocolError } from '../../protocol/errors';
import {
  type DeviceInviteReply,
  type DeviceRemovedReply,
  DevicesFrame,
  type DevicesListReply,
} from '../../protocol/sessions';
import { commandHandler } from '../runtime/command-handler';
import { scheduleCloseAfterReply } from '../runtime/delay-queue';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { deviceCredentialKey } from '../runtime/secrets';
import { issueInvite } from '../shared/device-credentials';
import { disconnect } from '../shared/disconnect';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';
import { missingCase } from '../../protocol/missing-case';

export async function devices(
  deps: ServerDeps,
  frame: DevicesFrame,
  context: RouteContext,
): Promise<DevicesListReply | DeviceRemovedReply | DeviceInviteReply> {
  const me = await requireUser(deps, context);
  switch (frame.op) {
    case 'list': {
      const list = await deps.devices.list(me.userId);
      return {
        devices: list
          .map(({ deviceId, createdAt, lastSeenAt }) => ({
            deviceId,
            createdAt,
            lastSeenAt,
            current: deviceId === me.deviceId,
          }))
          .sort((a, b) => a.createdAt - b.createdAt),
      };
    }
    case 'remove': {
      // Removed first: from then on none of its sessions counts, whatever the closing does.
      if (!(await deps.devices.remove(me.userId, frame.deviceId)))
        throw new ProtocolError(
          'NOT_FOUND',
          `There is no device "${frame.deviceId}" on your account: list your devices to see their ids.`,
        );
      const disconnected = await disconnect(
        deps,
        context,
        me.userId,
        (connection) => connection.deviceId === frame.deviceId,
      );
      return { removed: frame.deviceId, disconnected };
    }
    case 'invite':
      await assertWithinRate(deps, 'invite', me.userId, deps.now());
      return issueInvite(deps, me.userId, me.deviceId, deps.now());
    default: {
      return missingCase(
        frame,
        new ProtocolError('BAD_REQUEST', `Unknown devices operation ${String(frame)}.`),
      );
    }
  }
}

export const handler = commandHandler('devices', DevicesFrame, devices, {
  scheduleClose: scheduleCloseAfterReply,
  deviceCredentialKey,
});

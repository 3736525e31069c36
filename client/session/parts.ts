/** What the session's message parts (direct.ts, groups.ts) share, handed in by the client. */
import type { Contacts } from './contacts';
import type { DeviceState } from './device-state';
import type { EventStream } from './events';
import type { KeySync } from './key-sync';
import type { Clock } from './ports';
import type { Transfers } from './transfers';
import type { Unreadable } from './unreadable';

export interface SessionParts {
  readonly state: DeviceState;
  readonly clock: Clock;
  readonly events: EventStream;
  readonly keys: KeySync;
  readonly contacts: Contacts;
  readonly transfers: Transfers;
  readonly unreadable: Unreadable;
}

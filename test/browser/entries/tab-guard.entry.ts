/** Drives the PWA's Web Locks tab guard in one tab; state lives in this module between calls. */
import { WebLocksTabGuard } from '../../../web/src/platform/tab-guard';
import type { TabRole } from '../../../web/src/platform/ports';

type Op = { op: 'start'; lock: string } | { op: 'role' } | { op: 'takeOver' } | { op: 'release' };

let guard: WebLocksTabGuard | undefined;
const seen: TabRole[] = [];

export default async function run(input: Op): Promise<unknown> {
  switch (input.op) {
    case 'start':
      guard = new WebLocksTabGuard(input.lock);
      guard.subscribe((role) => seen.push(role));
      (window as unknown as { tabRoles: TabRole[] }).tabRoles = seen;
      return guard.start();
    case 'role':
      return guard!.current;
    case 'takeOver':
      await guard!.takeOver();
      return guard!.current;
    case 'release':
      guard!.release();
      return guard!.current;
  }
}

/**
 * The server's roster rule (DESIGN.md section 4, Groups): after verifyNextStatement passed, may
 * the server store this statement against the roster it holds now? The roster moves on while a
 * maker builds its epoch (people join, leave, are removed), so a statement is often built on an
 * older roster. It is accepted when only additions came since (those users stay pending for the
 * next epoch), and is a conflict (CONFLICT with the current roster, the maker rebuilds) when
 * someone it keeps has left since, or when it drops a member without that member's artefact.
 * Pure: the server maps its items to this shape.
 */
import type { AdditionArtefact, RemovalArtefact } from './group-artefacts';
import { artefactSubject } from './group-artefacts';
import { type GroupStatement, memberIds } from './group-statement';

export interface ServerRoster {
  /** Every current member; one that joined (or was added) after the stored statement carries
   * the artefact that is still waiting for an epoch. */
  readonly members: ReadonlyMap<string, { readonly pending?: AdditionArtefact }>;
  /** Users who left or were removed, with their artefact (only the latest per user). */
  readonly departed: ReadonlyMap<string, RemovalArtefact>;
}

export type RosterDecision =
  | {
      readonly outcome: 'accept';
      /** Roster members the statement does not cover yet: the next epoch must add them. */
      readonly stillPending: readonly string[];
    }
  | {
      readonly outcome: 'conflict';
      /** In the statement, but they left or were removed since. */
      readonly leftSince: readonly string[];
      /** Members of the roster the statement leaves out without a removal artefact. */
      readonly droppedWithoutArtefact: readonly string[];
    };

export function decideRoster(statement: GroupStatement, roster: ServerRoster): RosterDecision {
  const inStatement = new Set(memberIds(statement));
  const removedByStatement = new Set(statement.removals.map(artefactSubject));
  const leftSince = [...inStatement].filter((userId) => roster.departed.has(userId));
  const stillPending: string[] = [];
  const droppedWithoutArtefact: string[] = [];
  for (const [userId, member] of roster.members) {
    if (inStatement.has(userId)) continue;
    // A pending member the statement removes left and came back while it was being made.
    if (member.pending) stillPending.push(userId);
    else if (!removedByStatement.has(userId)) droppedWithoutArtefact.push(userId);
  }
  if (leftSince.length > 0 || droppedWithoutArtefact.length > 0)
    return { outcome: 'conflict', leftSince, droppedWithoutArtefact };
  return { outcome: 'accept', stillPending };
}

/**
 * The local stack the benchmarks measure: `npm start` in its own process group (so the benchmark's
 * clients do not share its event loop), its endpoints as it printed them, and its CPU time and
 * memory read from /proc for the whole process group (npm, tsx and the stack's node).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { REPO_ROOT } from '../infra/local/stack';
import { tempDataDir } from '../tools/local-stack';
import { nodeStart, npmStart } from '../tools/processes';

export interface StackProcess {
  readonly websocket: string;
  readonly dynamodb: string;
  /** CPU seconds (user + system) the stack's processes used so far. */
  cpuSeconds(): number;
  /** Resident memory of the stack's processes now, MiB. */
  rssMiB(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The pids whose process group is `group`, read from /proc/<pid>/stat. */
function groupMembers(group: number): { pid: number; stat: string[] }[] {
  const members: { pid: number; stat: string[] }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const raw = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state is field 3.
      const stat = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      if (Number(stat[2]) === group) members.push({ pid: Number(name), stat });
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

/** Starts the stack of the checkout in `dir` (this one by default) on free ports and a fresh data
 * folder; with `cpuProfileDir`, node writes a V8 CPU profile of each stack thread there at exit
 * (summarise them with bench/cpu-profile.ts). */
export async function startStackProcess(
  dir: string,
  cpuProfileDir?: string,
): Promise<StackProcess> {
  const data = tempDataDir();
  const ports = ['--gateway-port', '0', '--dynamo-port', '0', '--s3-port', '0'];
  // Every benchmark user signs up from this machine: this checkout's stack is configured to allow
  // it (another checkout, measured for a before/after, may predate --limits and its sign-up cap).
  const limits =
    dir === REPO_ROOT ? ['--limits', JSON.stringify({ signupsPerAddressPerHour: 100_000 })] : [];
  const args = ['--data', data.dir, ...ports, ...limits, '--no-web', '--quiet'];
  const stack = cpuProfileDir
    ? nodeStart(['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`], args, dir)
    : npmStart(args, dir);
  await stack.waitForLine(/^Ready: /, 90_000);
  const output = stack.output();
  const group = stack.child.pid!;
  return {
    websocket: /ws:\/\/\S+/.exec(output)![0],
    dynamodb: /DynamoDB API\s+(http:\/\/\S+)/.exec(output)![1]!,
    // utime and stime are fields 14 and 15 of stat (index 11 and 12 after the name).
    cpuSeconds: () =>
      groupMembers(group).reduce((sum, p) => sum + Number(p.stat[11]) + Number(p.stat[12]), 0) /
      CLOCK_TICKS,
    rssMiB: () =>
      groupMembers(group).reduce((sum, p) => {
        const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
        return sum + Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      }, 0),
    stop: async () => {
      stack.interrupt();
      await stack.exited;
      data.remove();
    },
  };
}

/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) of the local stack by where the time went: each
 * sample is charged to the first recognisable frame on its stack (AWS SDK, gateway, handlers,
 * dynalite), or to idle, GC and the rest. One line per thread's profile.
 *
 *   LOG_LEVEL=warn node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx infra/local/start.ts \
 *     --data /tmp/benchdata --no-web --quiet --gateway-port 0 --dynamo-port 0 --s3-port 0
 *   npm run bench:server -- --url <the ws:// URL it printed> --dynamodb <its DynamoDB URL> --groups 100
 *   (Ctrl-C the stack, then)  npx tsx bench/cpu-profile.ts /tmp/prof/*.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins, walking from the sampled frame towards the root. */
const CATEGORIES: readonly (readonly [string, RegExp])[] = [
  ['AWS SDK (client side of each request)', /@smithy|@aws-sdk|node:_http_client|node:_http_agent/],
  ['local gateway', /infra\/local\/(gateway|management-endpoint|frame-sniffer)|node_modules\/ws\//],
  ['HTTP servers (gateway, dynalite)', /node:_http_server/],
  ['handlers (lambdas/, protocol/)', /\/lambdas\/|\/protocol\//],
  ['dynalite and LevelDB', /dynalite|level/],
];
const SPECIAL = new Set(['(idle)', '(garbage collector)', '(program)']);

function summarise(path: string): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map<number, string>();
  const categorise = (id: number): string => {
    const known = categoryOf.get(id);
    if (known) return known;
    const own = byId.get(id)!.callFrame.functionName;
    let category = SPECIAL.has(own) ? own : 'other';
    for (
      let at: number | undefined = id;
      at !== undefined && category === 'other';
      at = parent.get(at)
    ) {
      const url = byId.get(at)!.callFrame.url;
      category = CATEGORIES.find(([, pattern]) => pattern.test(url))?.[0] ?? 'other';
    }
    categoryOf.set(id, category);
    return category;
  };
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    all += ms;
    totals.set(categorise(id), (totals.get(categorise(id)) ?? 0) + ms);
  });
  const busy = all - (totals.get('(idle)') ?? 0);
  const lines = [...totals]
    .filter(([category, ms]) => category !== '(idle)' && (100 * ms) / busy >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([category, ms]) => `    ${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${category}`);
  return [
    `${basename(path)}: ${(all / 1000).toFixed(1)} s sampled, busy ${((100 * busy) / all).toFixed(0)} %; of the busy time:`,
    ...lines,
  ].join('\n');
}

for (const path of process.argv.slice(2)) console.log(summarise(path));

/**
 * Per-address limits count a whole IPv6 /64 as one address: a single subscriber usually gets at
 * least a /64 and can use any of its 2^64 addresses, so counting them one by one limits nothing.
 * IPv4 addresses (also when written IPv4-mapped, ::ffff:a.b.c.d) count one by one.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 address, "::" expanded and an embedded IPv4 tail converted. */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0]!.toLowerCase(); // a zone id (fe80::1%eth0) is not part of it
  const ipv4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (ipv4Tail) {
    const [a, b, c, d] = ipv4Tail[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -ipv4Tail[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined) =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const front = parse(head);
  const back = parse(tail);
  return tail === undefined
    ? front
    : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The key a source address is counted under: IPv4 as it is, IPv6 as its /64 ("2001:db8:0:1::/64"). */
export function addressGroup(sourceIp: string): string {
  if (isIPv4(sourceIp)) return sourceIp;
  if (!isIPv6(sourceIp)) return sourceIp; // API Gateway always gives an address; keep anything else apart
  const groups = ipv6Groups(sourceIp);
  const mappedIpv4 = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mappedIpv4)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

import ipaddr from 'ipaddr.js';
import type { Authenticator } from './types.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses CIDRs (or single addresses); throws naming the first bad entry. */
export function parseCidrs(entries: readonly string[]): Range[] {
  return entries.map((entry) => {
    try {
      if (entry.includes('/')) return ipaddr.parseCIDR(entry);
      const addr = ipaddr.parse(entry);
      return [addr, addr.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new Error(`not an IP address or CIDR: ${JSON.stringify(entry)}`);
    }
  });
}

/** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) lies in one of `ranges`. */
export function ipInRanges(address: string, ranges: readonly Range[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(address);
  } catch {
    return false;
  }
  return ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
}

/**
 * Admits only clients whose address lies in the allowlist. The address is the socket peer, or
 * the `X-Forwarded-For` client when the peer is a configured trusted proxy (fastify `trustProxy`).
 */
export function ipAllowlist(cidrs: readonly string[]): Authenticator {
  const ranges = parseCidrs(cidrs);
  return (request) =>
    Promise.resolve(
      ipInRanges(request.remoteAddr, ranges)
        ? { ok: true, method: 'ip-allowlist' }
        : { ok: false, code: 'SOURCE_NOT_ALLOWED', message: 'source address is not allowed' },
    );
}

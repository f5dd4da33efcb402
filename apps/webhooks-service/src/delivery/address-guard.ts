import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A destination the service will not send to; the message says why (shown in the delivery log). */
export class DestinationRefused extends Error {}

export interface CheckedDestination {
  url: URL;
  /** The address the connection must go to: the one that was checked. */
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

function blockList(entries: Array<[string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [network, prefix, type] of entries) list.addSubnet(network, prefix, type);
  return list;
}

const LOOPBACK = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
]);

/** Never reachable from a webhook: private, link-local (cloud metadata), CGNAT, reserved, multicast. */
const FORBIDDEN = blockList([
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 128, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001::', 32, 'ipv6'], // Teredo: a tunnel to an (obfuscated) IPv4 client, never a webhook receiver
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'], // unique local (also AWS's metadata fd00:ec2::254)
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
]);

/** The eight 16-bit groups of an IPv6 address in any textual form (`::`, a dotted IPv4 tail, a zone), or undefined. */
export function ipv6Groups(address: string): number[] | undefined {
  return isIP(address.replace(/%.*$/, '')) === 6 ? ipaddr.IPv6.parse(address).parts : undefined;
}

const isZero = (groups: number[]) => groups.every((group) => group === 0);
const ipv4Of = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');

/**
 * The IPv4 address an IPv6 address carries, which is where a packet to it may end up: IPv4-mapped
 * (::ffff:a.b.c.d), SIIT (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002:AABB:CCDD::/48) and
 * the deprecated IPv4-compatible form (::a.b.c.d, but not :: or ::1, which are IPv6's own).
 */
export function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  if (isZero(g.slice(0, 5)) && g[5] === 0xffff) return ipv4Of(g[6], g[7]);
  if (isZero(g.slice(0, 4)) && g[4] === 0xffff && g[5] === 0) return ipv4Of(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && isZero(g.slice(2, 6))) return ipv4Of(g[6], g[7]);
  if (g[0] === 0x2002) return ipv4Of(g[1], g[2]);
  if (isZero(g.slice(0, 6)) && (g[6] !== 0 || g[7] > 1)) return ipv4Of(g[6], g[7]);
  return undefined;
}

export type AddressClass = 'public' | 'loopback' | 'forbidden';

/** The address as a message names it, with the IPv4 address it embeds (the one that was judged). */
function describeAddress(address: string): string {
  const v4 = embeddedIpv4(address);
  return v4 ? `${address}, which embeds ${v4}` : address;
}

export function classifyAddress(address: string): AddressClass {
  const v4 = embeddedIpv4(address);
  if (v4) return classifyAddress(v4);
  const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (LOOPBACK.check(address, type)) return 'loopback';
  if (FORBIDDEN.check(address, type)) return 'forbidden';
  return 'public';
}

/**
 * SSRF protection, applied on every attempt: https only; the host is resolved here and every
 * address it resolves to must be public (one private answer refuses the lot, so a DNS record
 * cannot smuggle one in); the caller connects to the address returned, never resolving again.
 * `allowLoopbackHttp` (operator setting) admits loopback addresses, over http too.
 */
export class AddressGuard {
  constructor(
    private readonly allowLoopbackHttp: boolean,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  async check(rawUrl: string): Promise<CheckedDestination> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new DestinationRefused('refused: not a valid URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowLoopbackHttp)) {
      throw new DestinationRefused('refused: only https:// URLs are delivered to');
    }
    if (url.port === '0') throw new DestinationRefused('refused: port 0');
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: Array<{ address: string; family: number }>;
    if (isIP(hostname)) addresses = [{ address: hostname, family: isIP(hostname) }];
    else {
      try {
        addresses = await this.resolve(hostname);
      } catch (err) {
        throw new DestinationRefused(`cannot resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (!addresses.length) throw new DestinationRefused(`cannot resolve ${hostname}: no address`);
    }
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind === 'forbidden') throw new DestinationRefused(`refused: ${hostname} is a private, link-local or reserved address (${describeAddress(address)})`);
      if (kind === 'loopback' && !this.allowLoopbackHttp) throw new DestinationRefused(`refused: ${hostname} is a loopback address (${describeAddress(address)})`);
      if (kind === 'public' && url.protocol === 'http:') throw new DestinationRefused('refused: only https:// URLs are delivered to');
    }
    const chosen = addresses[0];
    return { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
  }

  /** What can be told at creation without DNS: the scheme and literal addresses. */
  checkStatically(rawUrl: string): void {
    const url = new URL(rawUrl);
    // Port 0 is no port to connect to (the contract refuses it too; this guards stored URLs).
    if (url.port === '0') throw new DestinationRefused('url must not use port 0');
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(hostname) ? classifyAddress(hostname) : hostname.toLowerCase() === 'localhost' ? 'loopback' : 'public';
    if (literal === 'forbidden') throw new DestinationRefused(`url points to a private, link-local or reserved address (${describeAddress(hostname)})`);
    if (literal === 'loopback' && !this.allowLoopbackHttp) throw new DestinationRefused(`url points to a loopback address (${describeAddress(hostname)})`);
    if (url.protocol !== 'https:' && !(this.allowLoopbackHttp && literal === 'loopback')) {
      throw new DestinationRefused('url must be an https:// URL');
    }
  }
}

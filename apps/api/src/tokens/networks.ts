// Network binding: a token's allowedCidrs, read and normalised, whether an address lies inside them, and the no-escalation rule for networks.
import ipaddr from 'ipaddr.js';
import { TokenError } from './errors.js';

/** At most this many networks per token (the spec's AllowedCidrs maxItems). */
export const MAX_ALLOWED_CIDRS = 100;

/** A network as compared: IPv4-mapped IPv6 networks are taken as their IPv4 network. */
interface Network {
  address: ipaddr.IPv4 | ipaddr.IPv6;
  prefix: number;
}

const PREFIX = /^(0|[1-9]\d{0,2})$/;

/**
 * An address as compared: an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is its IPv4 address,
 * so that a dual-stack server's view of an IPv4 client meets an IPv4 network. Undefined when it is
 * not a plain IP address (IPv4 only in four-part decimal; no IPv6 zone).
 */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

/** A CIDR (`203.0.113.0/24`, `2001:db8::/32`; an address alone is its /32 or /128), host bits kept; undefined when it is none. */
function parseNetwork(cidr: string): Network | undefined {
  const [text = '', prefixText, ...rest] = cidr.split('/');
  if (rest.length > 0) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const prefix = prefixText === undefined ? 32 : PREFIX.test(prefixText) ? Number(prefixText) : -1;
    return prefix >= 0 && prefix <= 32 ? { address: ipaddr.IPv4.parse(text), prefix } : undefined;
  }
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  const prefix = prefixText === undefined ? 128 : PREFIX.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > 128) return undefined;
  const address = ipaddr.IPv6.parse(text);
  // ::ffff:a.b.c.d/96+n is the IPv4 network a.b.c.d/n.
  if (address.isIPv4MappedAddress() && prefix >= 96)
    return { address: address.toIPv4Address(), prefix: prefix - 96 };
  return { address, prefix };
}

/** The network's first address (host bits cleared) and prefix: one spelling per network. */
function formatNetwork({ address, prefix }: Network): string {
  const base =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  return `${base.toString()}/${prefix}`;
}

/** Whether `inner` lies wholly inside `outer`: same family, a prefix at least as long, and its addresses under outer's prefix. */
function containsNetwork(outer: Network, inner: Network): boolean {
  if (outer.address.kind() !== inner.address.kind() || inner.prefix < outer.prefix) return false;
  return inner.address.match(outer.address, outer.prefix);
}

function containsAddress(network: Network, address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return network.address.kind() === address.kind() && address.match(network.address, network.prefix);
}

/** Networks already parsed, by the stored list they came from: a token's list is read once per process, not once per request. */
const parsedLists = new WeakMap<readonly string[], readonly Network[]>();

/** Stored CIDRs, normalised when they were stored, as networks. */
function networksOf(cidrs: readonly string[]): readonly Network[] {
  let networks = parsedLists.get(cidrs);
  if (networks === undefined) {
    networks = cidrs.flatMap((cidr) => {
      const network = parseNetwork(cidr);
      return network === undefined ? [] : [network];
    });
    parsedLists.set(cidrs, networks);
  }
  return networks;
}

/**
 * A requested `allowedCidrs` as stored: each CIDR normalised (host bits cleared, IPv6 shortened,
 * IPv4-mapped IPv6 as IPv4), repeats dropped, in the order given. Absent, null or empty: [] (anywhere).
 */
export function normalizeCidrs(requested: readonly string[] | null | undefined): string[] {
  if (requested == null) return [];
  if (requested.length > MAX_ALLOWED_CIDRS)
    throw new TokenError('invalid', `at most ${MAX_ALLOWED_CIDRS} networks`, ['allowedCidrs']);
  const normalized = requested.map((cidr, index) => {
    const network = parseNetwork(cidr);
    if (network === undefined) {
      throw new TokenError(
        'invalid',
        `${JSON.stringify(cidr)} is not an IPv4 or IPv6 network in CIDR notation, like 203.0.113.0/24 or 2001:db8::/32`,
        ['allowedCidrs', index],
      );
    }
    return formatNetwork(network);
  });
  return [...new Set(normalized)];
}

/** Whether an address is a plain IPv4 or IPv6 address, as `clientAddress` must be. */
export const isIpAddress = (address: string): boolean => parseAddress(address) !== undefined;

/**
 * Whether a token bound to `cidrs` may be used from `address`. Unbound ([]): from anywhere, even
 * from no known address. Bound: only from an address inside one of them; never from none.
 */
export function admitsAddress(cidrs: readonly string[], address: string | undefined): boolean {
  if (cidrs.length === 0) return true;
  const parsed = address === undefined ? undefined : parseAddress(address);
  if (parsed === undefined) return false;
  return networksOf(cidrs).some((network) => containsAddress(network, parsed));
}

/**
 * No escalation in networks: a token issued by a caller bound to networks must be bound too, and
 * each of its networks must lie inside one of the caller's. An unbound caller may issue anything.
 * Refused as forbidden, naming the first network outside.
 */
export function assertWithinNetworks(callerCidrs: readonly string[], cidrs: readonly string[]): void {
  if (callerCidrs.length === 0) return;
  if (cidrs.length === 0) {
    throw new TokenError(
      'forbidden',
      "the caller is bound to networks, so the token must be bound too, to networks inside the caller's",
      ['allowedCidrs'],
    );
  }
  const callerNetworks = networksOf(callerCidrs);
  for (const [index, cidr] of cidrs.entries()) {
    const network = parseNetwork(cidr);
    if (network === undefined || !callerNetworks.some((outer) => containsNetwork(outer, network))) {
      throw new TokenError('forbidden', `${cidr} is not inside the networks the caller is bound to`, [
        'allowedCidrs',
        index,
      ]);
    }
  }
}

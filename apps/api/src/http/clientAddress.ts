// The key a client address is counted under by the per-address limits: an IPv4 address, or an IPv6 client's /64.
import ipaddr from 'ipaddr.js';

/**
 * An IPv6 subscriber is handed at least a /64 and may use any of its 2^64 addresses, so a limit per
 * IPv6 address is no limit: IPv6 clients are counted by their /64. IPv4 addresses (also when written
 * IPv4-mapped, `::ffff:203.0.113.7`) are counted alone. What is not an IP address is its own key.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const { parts } = parsed as ipaddr.IPv6;
  return `${new ipaddr.IPv6([...parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`;
}

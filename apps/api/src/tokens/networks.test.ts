// Network binding: CIDRs read and normalised, addresses admitted, and containment for no escalation, against a bit-level oracle (IPv4, IPv6, IPv4-mapped, /0, /32, /128).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenError } from './errors.js';
import { admitsAddress, assertWithinNetworks, isIpAddress, normalizeCidrs } from './networks.js';

/** Where an assertion threw: a TokenError's kind and message, or undefined when it did not throw. */
function refusal(assertion: () => void): { kind: string; message: string } | undefined {
  try {
    assertion();
    return undefined;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    return { kind: err.kind, message: err.message };
  }
}

const within = (caller: string[], child: string[]) => refusal(() => assertWithinNetworks(caller, child));

describe('normalizeCidrs', () => {
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['203.0.113.7', '203.0.113.7/32'],
    ['203.0.113.7/32', '203.0.113.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.0.2.255/0', '0.0.0.0/0'],
    ['2001:DB8:0:0::1/32', '2001:db8::/32'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['2001:db8::1/128', '2001:db8::1/128'],
    ['::/0', '::/0'],
    ['ffff::/0', '::/0'],
    ['::ffff:203.0.113.7', '203.0.113.7/32'],
    ['::ffff:203.0.113.7/120', '203.0.113.0/24'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
  ])('reads %s as %s', (given, normalised) => {
    expect(normalizeCidrs([given])).toEqual([normalised]);
  });

  it('keeps the order given and drops repeats; absent, null and empty are anywhere', () => {
    expect(normalizeCidrs(['2001:db8::/32', '10.0.0.0/8', '10.9.9.9/8'])).toEqual([
      '2001:db8::/32',
      '10.0.0.0/8',
    ]);
    expect(normalizeCidrs(undefined)).toEqual([]);
    expect(normalizeCidrs(null)).toEqual([]);
    expect(normalizeCidrs([])).toEqual([]);
  });

  it.each([
    ['10.0.0.0/33'],
    ['2001:db8::/129'],
    ['10.0.0.0/08'],
    ['10.0.0.0/'],
    ['10.0.0.0/8/8'],
    ['10.0.0.0/-1'],
    ['1.2.3'],
    ['010.0.0.1'],
    ['0x0a.0.0.1'],
    ['fe80::1%eth0/64'],
    ['example.com/24'],
    [''],
    [' 10.0.0.0/8'],
  ])('refuses %j as invalid, naming its index', (cidr) => {
    const refused = refusal(() => normalizeCidrs(['10.0.0.0/8', cidr]));
    expect(refused?.kind).toBe('invalid');
    expect(refused?.message).toMatch(
      /^allowedCidrs\[1\]: .* is not an IPv4 or IPv6 network in CIDR notation/,
    );
  });

  it('refuses more than 100 networks', () => {
    const many = Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`);
    expect(refusal(() => normalizeCidrs(many))?.message).toBe('allowedCidrs: at most 100 networks');
    expect(normalizeCidrs(many.slice(0, 100))).toHaveLength(100);
  });
});

describe('admitsAddress', () => {
  it('admits any address, or none, for a token bound nowhere', () => {
    expect(admitsAddress([], '203.0.113.7')).toBe(true);
    expect(admitsAddress([], undefined)).toBe(true);
  });

  it('never admits a bound token from no address, or from what is not an address', () => {
    expect(admitsAddress(['0.0.0.0/0', '::/0'], undefined)).toBe(false);
    expect(admitsAddress(['0.0.0.0/0', '::/0'], 'unknown')).toBe(false);
  });

  it.each([
    ['0.0.0.0/0', '203.0.113.7', true],
    ['0.0.0.0/0', '::ffff:203.0.113.7', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '203.0.113.7', false],
    // A dual-stack server sees an IPv4 client as IPv4-mapped: it is the IPv4 address.
    ['::/0', '::ffff:203.0.113.7', false],
    ['203.0.113.7/32', '203.0.113.7', true],
    ['203.0.113.7/32', '203.0.113.8', false],
    ['203.0.113.7/32', '203.0.113.6', false],
    ['203.0.113.0/24', '203.0.113.255', true],
    ['203.0.113.0/24', '203.0.114.0', false],
    ['203.0.113.0/24', '::ffff:203.0.113.9', true],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8::1/128', '2001:db8::', false],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
  ])('%s admits %s: %s', (cidr, address, admitted) => {
    expect(admitsAddress(normalizeCidrs([cidr]), address)).toBe(admitted);
  });

  it('tells an IP address from anything else', () => {
    expect(isIpAddress('203.0.113.7')).toBe(true);
    expect(isIpAddress('::ffff:203.0.113.7')).toBe(true);
    expect(isIpAddress('2001:db8::1')).toBe(true);
    expect(isIpAddress('203.0.113')).toBe(false);
    expect(isIpAddress('203.0.113.7/32')).toBe(false);
    expect(isIpAddress('localhost')).toBe(false);
  });
});

describe('assertWithinNetworks', () => {
  it('lets an unbound caller issue anything', () => {
    expect(within([], [])).toBeUndefined();
    expect(within([], ['0.0.0.0/0'])).toBeUndefined();
  });

  it('refuses an unbound token from a bound caller', () => {
    expect(within(['10.0.0.0/8'], [])).toEqual({
      kind: 'forbidden',
      message: expect.stringMatching(/^allowedCidrs: the caller is bound to networks/),
    });
  });

  it('names the first network outside, by its index', () => {
    expect(
      within(['10.0.0.0/8', '2001:db8::/32'], ['10.1.0.0/16', '2001:db8:1::/48', '11.0.0.0/8', '12.0.0.0/8']),
    ).toEqual({
      kind: 'forbidden',
      message: 'allowedCidrs[2]: 11.0.0.0/8 is not inside the networks the caller is bound to',
    });
  });

  it.each([
    [['10.0.0.0/8'], ['10.0.0.0/8'], true],
    [['10.0.0.0/8'], ['10.255.255.255/32'], true],
    [['10.0.0.0/8'], ['10.0.0.0/7'], false],
    [['10.0.0.0/8'], ['0.0.0.0/0'], false],
    [['0.0.0.0/0'], ['0.0.0.0/0'], true],
    [['0.0.0.0/0'], ['2001:db8::/32'], false],
    [['::/0'], ['203.0.113.0/24'], false],
    [['::/0'], ['2001:db8::1/128'], true],
    [['2001:db8::1/128'], ['2001:db8::1/128'], true],
    [['2001:db8::1/128'], ['2001:db8::/127'], false],
    [['203.0.113.7/32'], ['203.0.113.7/32'], true],
    [['203.0.113.0/24'], ['203.0.113.0/25', '203.0.113.128/25'], true],
    // Normalised, a mapped network is its IPv4 network: it lies inside the IPv4 one.
    [['203.0.113.0/24'], normalizeCidrs(['::ffff:203.0.113.0/121']), true],
  ])('caller %j, token %j: inside %s', (caller, child, inside) => {
    expect(within(caller, child) === undefined).toBe(inside);
  });
});

/** An address as bits, the oracle the properties compare with: no parsing library involved. */
interface Bits {
  family: 4 | 6;
  value: bigint;
}

const width = (family: 4 | 6) => (family === 4 ? 32 : 128);

const ipv4 = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
  .map((octets): Bits & { text: string } => ({
    family: 4,
    value: octets.reduce((value, octet) => (value << 8n) | BigInt(octet), 0n),
    text: octets.join('.'),
  }));

// The first group is never 0, so no generated address is IPv4-mapped (::ffff:0:0/96) by chance.
const ipv6 = fc
  .tuple(
    fc.integer({ min: 1, max: 0xffff }),
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }),
  )
  .map(([first, rest]): Bits & { text: string } => {
    const groups = [first, ...rest];
    return {
      family: 6,
      value: groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n),
      text: groups.map((group) => group.toString(16)).join(':'),
    };
  });

/** The same top `prefix` bits. */
const samePrefix = (a: Bits, b: Bits, prefix: number) =>
  a.family === b.family &&
  a.value >> BigInt(width(a.family) - prefix) === b.value >> BigInt(width(b.family) - prefix);

/** An address with the top `prefix` bits of `base` and the rest from `other`. */
function withPrefixOf(base: Bits, other: Bits, prefix: number): bigint {
  const low = width(base.family) - prefix;
  const mask = (1n << BigInt(low)) - 1n;
  return (base.value & ~mask) | (other.value & mask);
}

function textOf(bits: Bits): string {
  if (bits.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((bits.value >> shift) & 0xffn)).join('.');
  }
  return Array.from({ length: 8 }, (_, i) =>
    ((bits.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  ).join(':');
}

const network = (family: fc.Arbitrary<Bits & { text: string }>, bits: number) =>
  fc.record({ address: family, prefix: fc.integer({ min: 0, max: bits }) });

describe('properties', () => {
  it('an IPv4 or IPv6 network admits exactly the addresses sharing its prefix', () => {
    for (const [family, bits] of [
      [ipv4, 32],
      [ipv6, 128],
    ] as const) {
      fc.assert(
        fc.property(network(family, bits), family, fc.boolean(), ({ address, prefix }, other, near) => {
          const cidrs = normalizeCidrs([`${address.text}/${prefix}`]);
          // Half the time, an address inside by construction, so both outcomes are well tried.
          const candidate: Bits = near
            ? { family: address.family, value: withPrefixOf(address, other, prefix) }
            : other;
          expect(admitsAddress(cidrs, textOf(candidate))).toBe(samePrefix(address, candidate, prefix));
        }),
      );
    }
  });

  it('an IPv4-mapped IPv6 address is admitted exactly when its IPv4 address is', () => {
    fc.assert(
      fc.property(network(ipv4, 32), ipv4, ({ address, prefix }, client) => {
        const cidrs = normalizeCidrs([`${address.text}/${prefix}`]);
        expect(admitsAddress(cidrs, `::ffff:${client.text}`)).toBe(admitsAddress(cidrs, client.text));
        // And a mapped network is its IPv4 network.
        expect(normalizeCidrs([`::ffff:${address.text}/${96 + prefix}`])).toEqual(cidrs);
      }),
    );
  });

  it('a network is inside another exactly when it is as long or longer and shares its prefix', () => {
    for (const [family, bits] of [
      [ipv4, 32],
      [ipv6, 128],
    ] as const) {
      fc.assert(
        fc.property(network(family, bits), network(family, bits), fc.boolean(), (outer, inner, near) => {
          const child: Bits = near
            ? {
                family: outer.address.family,
                value: withPrefixOf(outer.address, inner.address, outer.prefix),
              }
            : inner.address;
          const inside =
            within(
              normalizeCidrs([`${outer.address.text}/${outer.prefix}`]),
              normalizeCidrs([`${textOf(child)}/${inner.prefix}`]),
            ) === undefined;
          expect(inside).toBe(inner.prefix >= outer.prefix && samePrefix(outer.address, child, outer.prefix));
        }),
      );
    }
  });

  it('no escalation: every address a contained network admits, its container admits too', () => {
    fc.assert(
      fc.property(
        network(ipv4, 32),
        fc.integer({ min: 0, max: 32 }),
        ipv4,
        ipv4,
        (outer, extra, lower, client) => {
          const innerPrefix = Math.min(32, outer.prefix + extra);
          const inner = normalizeCidrs([
            `${textOf({ family: 4, value: withPrefixOf(outer.address, lower, outer.prefix) })}/${innerPrefix}`,
          ]);
          const container = normalizeCidrs([`${outer.address.text}/${outer.prefix}`]);
          expect(within(container, inner)).toBeUndefined();
          if (admitsAddress(inner, client.text)) expect(admitsAddress(container, client.text)).toBe(true);
        },
      ),
    );
  });

  it('IPv4 and IPv6 never contain one another', () => {
    fc.assert(
      fc.property(network(ipv4, 32), network(ipv6, 128), (v4, v6) => {
        const four = normalizeCidrs([`${v4.address.text}/${v4.prefix}`]);
        const six = normalizeCidrs([`${v6.address.text}/${v6.prefix}`]);
        expect(within(four, six)).toBeDefined();
        expect(within(six, four)).toBeDefined();
        expect(admitsAddress(four, v6.address.text)).toBe(false);
        expect(admitsAddress(six, v4.address.text)).toBe(false);
      }),
    );
  });
});

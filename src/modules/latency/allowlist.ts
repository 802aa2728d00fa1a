/**
 * Which targets the load engine may hit (LATENCY_ALLOWED_TARGETS): an open load generator is an attack
 * tool, so by default only loopback is allowed. Entries: `loopback` (127.0.0.0/8 and ::1), `*` (anything),
 * IP addresses, CIDR ranges, host names (`api.example.com`, or `*.example.com` for its subdomains).
 *
 * A host name that is not itself allowed is resolved (every address) and refused if ANY address is
 * outside the list. The same check runs again at connect time (`lookup`, given to the engine's sockets),
 * so a name that resolves differently later (DNS rebinding) cannot reach a refused address either.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { forbidden, unprocessable } from '../../platform/errors';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address of a host name (dns.lookup: what the OS resolver, /etc/hosts included, says). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

export interface Allowlist {
  readonly any: boolean;
  readonly addresses: BlockList;
  readonly names: ReadonlySet<string>;
  /** From `*.example.com`: `.example.com`. */
  readonly suffixes: readonly string[];
}

const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/;

/** Parses the configured list; throws naming the entry that is not understood. */
export function parseAllowlist(spec: string): Allowlist {
  const addresses = new BlockList();
  const names = new Set<string>();
  const suffixes: string[] = [];
  let any = false;
  for (const raw of spec.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') any = true;
    else if (entry === 'loopback') {
      addresses.addSubnet('127.0.0.0', 8, 'ipv4');
      addresses.addAddress('::1', 'ipv6');
    } else if (entry.includes('/')) {
      const [net, bits] = entry.split('/', 2) as [string, string];
      const family = isIP(net);
      const prefix = Number(bits);
      const max = family === 4 ? 32 : 128;
      if (family === 0 || !/^\d+$/.test(bits) || prefix > max) {
        throw new Error(`LATENCY_ALLOWED_TARGETS: '${raw.trim()}' is not a valid CIDR range`);
      }
      addresses.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else if (isIP(unbracket(entry))) {
      const ip = unbracket(entry);
      addresses.addAddress(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
    } else if (HOST_NAME.test(entry)) {
      const name = entry.replace(/\.$/, '');
      if (name.startsWith('*.')) suffixes.push(name.slice(1));
      else names.add(name);
    } else {
      throw new Error(
        `LATENCY_ALLOWED_TARGETS: '${raw.trim()}' is not loopback, *, an IP, a CIDR or a host name`,
      );
    }
  }
  return { any, addresses, names, suffixes };
}

const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** `::ffff:127.0.0.1` is 127.0.0.1: compare mapped addresses as the IPv4 address they carry. */
function normalise(address: string): { ip: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { ip: mapped[1]!, type: 'ipv4' };
  return { ip: address, type: isIP(address) === 4 ? 'ipv4' : 'ipv6' };
}

export function isAddressAllowed(list: Allowlist, address: string): boolean {
  if (list.any) return true;
  const { ip, type } = normalise(address);
  return list.addresses.check(ip, type);
}

function isNameAllowed(list: Allowlist, host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return list.names.has(name) || list.suffixes.some((s) => name.endsWith(s));
}

const notAllowed = (field: string, detail: string) =>
  forbidden('LATENCY_TARGET_NOT_ALLOWED', `${field}: ${detail} (see LATENCY_ALLOWED_TARGETS)`);

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | ResolvedAddress[],
  family?: number,
) => void;

export interface TargetGuard {
  /** Throws 403 naming `field` unless every address `host` resolves to is allowed (422 if unresolvable). */
  check(host: string, field?: string): Promise<void>;
  /** A socket `lookup` that resolves like `check` and fails the connection on a refused address. */
  readonly lookup: LookupFunction;
}

export function createTargetGuard(list: Allowlist, resolve: Resolver = systemResolver): TargetGuard {
  /** The addresses a connection may use, or an error saying why there are none. */
  async function allowedAddresses(host: string): Promise<ResolvedAddress[]> {
    const bare = unbracket(host);
    const literal = isIP(bare);
    if (literal) return [{ address: bare, family: literal }];
    const all = await resolve(bare);
    if (all.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    return all;
  }

  return {
    async check(host, field = 'host') {
      if (list.any) return;
      const bare = unbracket(host);
      if (!isIP(bare) && isNameAllowed(list, bare)) return;
      let addresses: ResolvedAddress[];
      try {
        addresses = await allowedAddresses(bare);
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'error';
        // Not allowed by name: even resolved, it may only be used if its addresses are allowed.
        throw unprocessable(
          'LATENCY_TARGET_UNRESOLVABLE',
          `${field}: '${host}' could not be resolved (${code}); resolved, it would also have to be an allowed ` +
            'target: only the addresses and names in LATENCY_ALLOWED_TARGETS are (loopback by default)',
        );
      }
      const refused = addresses.filter((a) => !isAddressAllowed(list, a.address));
      if (refused.length > 0) {
        const which = refused.map((a) => a.address).join(', ');
        throw notAllowed(
          field,
          isIP(bare) ? `${bare} is not allowed` : `'${host}' resolves to ${which}, not allowed`,
        );
      }
    },

    lookup: ((
      hostname: string,
      options: { all?: boolean; family?: number | string },
      callback: LookupCallback,
    ) => {
      const wantAll = options?.all === true;
      const family =
        options?.family === 'IPv4' ? 4 : options?.family === 'IPv6' ? 6 : Number(options?.family ?? 0);
      allowedAddresses(hostname).then(
        (all) => {
          const nameOk = list.any || isNameAllowed(list, hostname);
          const usable = all.filter((a) => family === 0 || a.family === family);
          const refused = nameOk ? [] : usable.filter((a) => !isAddressAllowed(list, a.address));
          if (usable.length === 0 || refused.length > 0) {
            const err = Object.assign(
              new Error(
                `${hostname} resolves to ${refused.map((a) => a.address).join(', ') || 'no usable address'}, not allowed by LATENCY_ALLOWED_TARGETS`,
              ),
              { code: 'LATENCY_TARGET_NOT_ALLOWED' },
            );
            return callback(err, wantAll ? [] : '', 0);
          }
          if (wantAll) callback(null, usable);
          else callback(null, usable[0]!.address, usable[0]!.family);
        },
        (err) => callback(err, wantAll ? [] : '', 0),
      );
    }) as LookupFunction,
  };
}

import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { isServiceError } from '../../platform/errors';
import { createTargetGuard, isAddressAllowed, parseAllowlist, type Resolver } from './allowlist';
import { run } from './engine';
import { startLatencyTarget } from './engine/target';

const fixed =
  (table: Record<string, string[]>): Resolver =>
  async (host) =>
    (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isServiceError(e)) return { status: e.status, code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

function lookupAll(lookup: ReturnType<typeof createTargetGuard>['lookup'], host: string) {
  return new Promise<{ err: NodeJS.ErrnoException | null; addresses: LookupAddress[] }>((resolve) =>
    lookup(host, { all: true }, (err, addresses) =>
      resolve({ err, addresses: addresses as LookupAddress[] }),
    ),
  );
}

describe('parseAllowlist', () => {
  it('loopback is 127.0.0.0/8 and ::1, including IPv4-mapped IPv6', () => {
    const list = parseAllowlist('loopback');
    for (const ip of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1'])
      expect(isAddressAllowed(list, ip)).toBe(true);
    for (const ip of ['128.0.0.1', '10.0.0.1', '::2', '0.0.0.0', '::ffff:10.0.0.1']) {
      expect(isAddressAllowed(list, ip)).toBe(false);
    }
  });

  it('reads IPs, CIDR ranges (v4 and v6) and *', () => {
    const list = parseAllowlist(' 192.168.1.5 , 10.0.0.0/8, fd00::/8 ');
    expect(isAddressAllowed(list, '192.168.1.5')).toBe(true);
    expect(isAddressAllowed(list, '192.168.1.6')).toBe(false);
    expect(isAddressAllowed(list, '10.9.8.7')).toBe(true);
    expect(isAddressAllowed(list, 'fd12::1')).toBe(true);
    expect(isAddressAllowed(list, '127.0.0.1')).toBe(false);
    expect(isAddressAllowed(parseAllowlist('*'), '8.8.8.8')).toBe(true);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'not a host', 'http://x'])('refuses the entry %s', (entry) => {
    expect(() => parseAllowlist(entry)).toThrow(/LATENCY_ALLOWED_TARGETS/);
  });
});

describe('TargetGuard', () => {
  const resolver = fixed({
    'inside.test': ['127.0.0.1', '::1'],
    'outside.test': ['8.8.8.8'],
    'api.example.com': ['8.8.4.4'],
    'x.svc.example.com': ['10.0.0.1'],
  });
  const guard = createTargetGuard(parseAllowlist('loopback, api.example.com, *.svc.example.com'), resolver);

  it('allows names whose every address is allowed, and names on the list whatever they resolve to', async () => {
    await guard.check('inside.test');
    await guard.check('API.example.com');
    await guard.check('x.svc.example.com');
  });

  it('refuses with 403 naming the field, or 422 when the name does not resolve', async () => {
    expect(await refusal(guard.check('outside.test', 'experiments[0].host'))).toMatchObject({
      status: 403,
      code: 'LATENCY_TARGET_NOT_ALLOWED',
      message: expect.stringMatching(/^experiments\[0\]\.host: 'outside\.test' resolves to 8\.8\.8\.8/),
    });
    expect(await refusal(guard.check('svc.example.com'))).toMatchObject({ status: 422 });
    expect(await refusal(guard.check('10.0.0.1'))).toMatchObject({ status: 403 });
  });

  it('the socket lookup refuses a name that now resolves off the list (DNS rebinding)', async () => {
    let addresses = ['127.0.0.1'];
    const rebinding = createTargetGuard(parseAllowlist('loopback'), async () =>
      addresses.map((address) => ({ address, family: 4 })),
    );
    await rebinding.check('rebind.test');
    expect((await lookupAll(rebinding.lookup, 'rebind.test')).addresses).toEqual([
      { address: '127.0.0.1', family: 4 },
    ]);
    addresses = ['127.0.0.1', '10.0.0.1'];
    const { err } = await lookupAll(rebinding.lookup, 'rebind.test');
    expect(err?.code).toBe('LATENCY_TARGET_NOT_ALLOWED');
    expect(err?.message).toMatch(/10\.0\.0\.1/);
  });

  it('a run whose target name turns refused fails its requests without connecting', async () => {
    const target = await startLatencyTarget({ port: 0 });
    try {
      const refusing = createTargetGuard(parseAllowlist('loopback'), async () => [
        { address: '10.0.0.1', family: 4 },
      ]);
      const { summary } = await run({
        target: { host: 'rebind.test', port: target.port, path: '/api/latency' },
        stages: [{ users: 1, durationSeconds: 0.3, intervalSeconds: 0.05 }],
        lookup: refusing.lookup,
      });
      expect(summary.requests).toBeGreaterThan(0);
      expect(summary.successes).toBe(0);
      expect(target.served).toBe(0);
    } finally {
      await target.close();
    }
  });
});

import { AddressGuard, DestinationRefused, classifyAddress, embeddedIpv4 } from './address-guard';

const resolver = (table: Record<string, string[]>) => async (hostname: string) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'forbidden'],
    ['172.16.0.1', 'forbidden'],
    ['172.31.255.255', 'forbidden'],
    ['192.168.1.1', 'forbidden'],
    ['169.254.169.254', 'forbidden'],
    ['100.64.0.1', 'forbidden'],
    ['100.100.100.200', 'forbidden'],
    ['0.0.0.0', 'forbidden'],
    ['224.0.0.1', 'forbidden'],
    ['255.255.255.255', 'forbidden'],
    ['::', 'forbidden'],
    ['fd00:ec2::254', 'forbidden'],
    ['fe80::1', 'forbidden'],
    ['::ffff:10.0.0.1', 'forbidden'],
    ['::ffff:a9fe:a9fe', 'forbidden'],
    ['64:ff9b::169.254.169.254', 'forbidden'],
    // IPv4 inside IPv6 is judged by the IPv4 rules, whatever the notation.
    ['64:ff9b::a9fe:a9fe', 'forbidden'], // NAT64
    ['64:ff9b:0:0:0:0:a9fe:a9fe', 'forbidden'],
    ['0064:ff9b::10.0.0.1', 'forbidden'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['2002:a9fe:a9fe::', 'forbidden'], // 6to4 of 169.254.169.254
    ['2002:c0a8:101:1::1', 'forbidden'], // 6to4 of 192.168.1.1
    ['2002:7f00:1::', 'loopback'],
    ['2002:808:808::1', 'public'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'forbidden'], // Teredo (2001::/32)
    ['2001:0:5ef5:79fd::5601:5601', 'forbidden'], // Teredo with client 169.254.169.254 (obfuscated)
    ['2001:4860:4860::8888', 'public'], // 2001::/32 is Teredo only
    ['::ffff:0:a9fe:a9fe', 'forbidden'], // SIIT
    ['::169.254.169.254', 'forbidden'], // IPv4-compatible (deprecated)
    ['::a00:1', 'forbidden'],
    ['::2', 'forbidden'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('reads IPv4 inside IPv6', () => {
    expect(embeddedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('2001:db8::1')).toBeUndefined();
    expect(embeddedIpv4('2002:a9fe:a9fe::')).toBe('169.254.169.254');
    expect(embeddedIpv4('64:ff9b::192.0.2.33')).toBe('192.0.2.33');
    expect(embeddedIpv4('::')).toBeUndefined();
    expect(embeddedIpv4('::1')).toBeUndefined();
    expect(embeddedIpv4('2606:4700::1111')).toBeUndefined();
    expect(embeddedIpv4('10.0.0.1')).toBeUndefined();
  });
});

describe('AddressGuard', () => {
  const table = {
    'crm.example.com': ['93.184.216.34'],
    'rebind.example.com': ['93.184.216.34', '10.0.0.5'],
    'metadata.example.com': ['169.254.169.254'],
    'v6.example.com': ['2606:4700::1111'],
    'nat64.example.com': ['64:ff9b::a9fe:a9fe'],
    localhost: ['127.0.0.1'],
  };
  const strict = new AddressGuard(false, resolver(table));
  const dev = new AddressGuard(true, resolver(table));
  const refused = async (guard: AddressGuard, url: string) => {
    const err = await guard.check(url).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(DestinationRefused);
    return err!.message;
  };

  it('resolves once and hands back the checked address', async () => {
    await expect(strict.check('https://crm.example.com/hook')).resolves.toMatchObject({ address: '93.184.216.34', family: 4 });
    await expect(strict.check('https://v6.example.com/hook')).resolves.toMatchObject({ address: '2606:4700::1111', family: 6 });
    await expect(strict.check('https://93.184.216.34/hook')).resolves.toMatchObject({ address: '93.184.216.34' });
  });

  it('refuses http, private, metadata, loopback and unresolvable destinations', async () => {
    expect(await refused(strict, 'http://crm.example.com/hook')).toMatch(/only https/);
    expect(await refused(strict, 'https://rebind.example.com/')).toMatch(/private.*10\.0\.0\.5/);
    expect(await refused(strict, 'https://metadata.example.com/')).toMatch(/169\.254\.169\.254/);
    expect(await refused(strict, 'https://169.254.169.254/latest/meta-data')).toMatch(/private/);
    expect(await refused(strict, 'https://[::ffff:192.168.0.1]/')).toMatch(/private/);
    expect(await refused(strict, 'https://localhost:8443/')).toMatch(/loopback/);
    expect(await refused(strict, 'https://[::1]/')).toMatch(/loopback/);
    expect(await refused(strict, 'https://nowhere.example.com/')).toMatch(/cannot resolve nowhere.example.com: ENOTFOUND/);
    expect(await refused(strict, 'https://nat64.example.com/')).toMatch(/64:ff9b::a9fe:a9fe, which embeds 169\.254\.169\.254/);
    expect(await refused(strict, 'https://[2002:a9fe:a9fe::]/')).toMatch(/private/);
    expect(await refused(strict, 'https://crm.example.com:0/')).toBe('refused: port 0');
  });

  it('with loopback allowed: loopback over http or https, still nothing private and no public http', async () => {
    await expect(dev.check('http://localhost:8080/hook')).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(dev.check('http://127.0.0.1:8080/hook')).resolves.toMatchObject({ address: '127.0.0.1' });
    expect(await refused(dev, 'http://crm.example.com/hook')).toMatch(/only https/);
    expect(await refused(dev, 'https://10.0.0.1/')).toMatch(/private/);
  });

  it('checks literal addresses at creation', () => {
    expect(() => strict.checkStatically('https://10.0.0.1/')).toThrow(/private/);
    expect(() => strict.checkStatically('https://localhost/')).toThrow(/loopback/);
    expect(() => strict.checkStatically('http://crm.example.com/')).toThrow(/https/);
    expect(() => strict.checkStatically('https://crm.example.com/')).not.toThrow();
    expect(() => strict.checkStatically('https://[2002:a9fe:a9fe::]/h')).toThrow(
      'url points to a private, link-local or reserved address (2002:a9fe:a9fe::, which embeds 169.254.169.254)',
    );
    expect(() => strict.checkStatically('https://[64:ff9b::169.254.169.254]/h')).toThrow(/64:ff9b::a9fe:a9fe, which embeds 169\.254\.169\.254/);
    expect(() => strict.checkStatically('https://example.com:0/h')).toThrow('url must not use port 0');
    expect(() => dev.checkStatically('http://127.0.0.1:9/')).not.toThrow();
    expect(() => dev.checkStatically('http://crm.example.com/')).toThrow(/https/);
  });
});

import { amiFrame } from '../testing/fake-ami-server';
import { parseFrames } from '../testing/ami-frames';
import { TestEnv } from '../testing/test-env';
import { Registrations } from '../calls/registrations';
import { UserDirectory } from './user-directory';
import { UserRegistrations } from './user-registrations';

describe('UserRegistrations (PostgreSQL)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await TestEnv.start();
    const row = (user: string, accountId: number, num: string) => ({ user, accountId, num, voicemail: false, version: 1, eventId: `e-${user}` });
    await env.prisma!.provisionedUser.createMany({
      data: [row('3000000002', 7001, '402'), row('3000000001', 7001, '401'), row('3000000009', 7002, '401'), row('3000000003', 7001, '403')],
    });
    // 3000000003 was deleted: its row stays, its endpoint is gone.
    await env.prisma!.psEndpoint.createMany({ data: [{ id: '3000000001' }, { id: '3000000002' }, { id: '3000000009' }] });
  });
  afterAll(() => env.stop());

  const contact = (registrations: Registrations, endpoint: string, status: string) =>
    parseFrames(amiFrame({ Event: 'ContactStatus', URI: `sip:${endpoint}@10.0.0.5:5060`, ContactStatus: status, AOR: endpoint, EndpointName: endpoint })).forEach((m) =>
      registrations.handle(m),
    );

  function service(registrations: Registrations, ready = true, deviceTemplate = 'PJSIP/{user}') {
    return new UserRegistrations({ session: { isReady: ready }, registrations, directory: new UserDirectory(env.prisma!), deviceTemplate, syncWaitMs: 100 });
  }

  function synced(): Registrations {
    const registrations = new Registrations();
    registrations.beginResync('pc');
    registrations.listRefused('pc', 'No Contacts found');
    return registrations;
  }

  it("lists only the account's users (not deleted ones), by name, with their phones' state", async () => {
    const registrations = synced();
    contact(registrations, '3000000002', 'NonQualified');
    contact(registrations, '3000000009', 'Reachable'); // another account's
    expect(await service(registrations).list(7001)).toEqual([
      { user: '3000000001', num: '401', registered: false },
      { user: '3000000002', num: '402', registered: true },
    ]);
    contact(registrations, '3000000002', 'Unreachable');
    expect((await service(registrations).list(7001))[1].registered).toBe(false);
    expect(await service(registrations).list(7999)).toEqual([]);
  });

  it('answers UNAVAILABLE while the PBX is down or its contacts are not listed yet', async () => {
    await expect(service(synced(), false).list(7001)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(service(new Registrations()).list(7001)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('a non-PJSIP device template has no contacts: never registered', async () => {
    const registrations = synced();
    contact(registrations, '3000000001', 'Reachable');
    expect((await service(registrations, true, 'SIP/{user}').list(7001)).map((r) => r.registered)).toEqual([false, false]);
  });

  it('UserDirectory tells whether a number is a live extension of the account: deleted users and other accounts are not', async () => {
    const directory = new UserDirectory(env.prisma!);
    expect(directory.isExtension(7001, '401')).toBeUndefined(); // nothing loaded yet
    await directory.refresh();
    expect([directory.isExtension(7001, '401'), directory.isExtension(7001, '402')]).toEqual([true, true]);
    expect(directory.isExtension(7001, '403')).toBe(false); // 3000000003 was deleted
    expect(directory.cached('3000000003')).toEqual({ accountId: 7001, num: '403' }); // its past calls still map
    expect(directory.isExtension(7001, '777')).toBe(false);
    expect(directory.isExtension(7999, '401')).toBeUndefined(); // an account this directory has no live user of
    // What this process provisions and deprovisions counts at once.
    directory.remember('3000000002', { accountId: 7001, num: '412' });
    expect([directory.isExtension(7001, '402'), directory.isExtension(7001, '412')]).toEqual([false, true]);
    directory.forget('3000000001');
    expect(directory.isExtension(7001, '401')).toBe(false);
    expect(directory.cached('3000000001')).toEqual({ accountId: 7001, num: '401' });
  });
});

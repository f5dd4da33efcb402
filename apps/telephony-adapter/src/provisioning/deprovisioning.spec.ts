import { createHash, randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import {
  NumberRouting,
  USERS_EVENTS_STREAM,
  UserDeprovisioning,
  UserProvisioning,
  UsersUserCreated,
  UsersUserDeleted,
} from '@ringcloud/contracts-users';
import { ensureStream } from '@ringcloud/nest-nats';
import { ContextTemplate } from '../config/telephony-config';
import { TestEnv, eventually } from '../testing/test-env';
import { ProvisioningConsumer } from './provisioning.consumer';
import { ProvisioningService } from './provisioning.service';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

const created = (user: string, version: number, over: Partial<UserProvisioning> = {}): UserProvisioning => ({
  event_id: randomUUID(),
  occurred_at: new Date().toISOString(),
  version,
  account_id: 1001,
  user,
  num: '401',
  mail: `${user}@example.com`,
  voice_mail_box: 'on',
  sip: { username: user, realm: 'ringcloud', md5_cred: md5(`${user}:ringcloud:Str0ngPass`) },
  changed: ['password', 'num', 'mail', 'voice_mail_box'],
  ...over,
});

const deleted = (user: string, version: number, num = '401'): UserDeprovisioning => ({
  event_id: randomUUID(),
  occurred_at: new Date().toISOString(),
  version,
  account_id: 1001,
  user,
  num,
});

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('deprovisioning a deleted user (real PostgreSQL and NATS)', () => {
  let env: TestEnv;
  let service: ProvisioningService;

  beforeAll(async () => {
    env = await TestEnv.start();
    service = new ProvisioningService(env.prisma!, new ContextTemplate('acct-{account}'), { transport: 'transport-udp', qualifyFrequency: 60, inboundContext: 'from-pstn' });
  }, 60_000);
  afterAll(async () => env?.stop());

  const rowsOf = async (user: string) => {
    const p = env.prisma!;
    return {
      endpoint: await p.psEndpoint.count({ where: { id: user } }),
      auth: await p.psAuth.count({ where: { id: user } }),
      aor: await p.psAor.count({ where: { id: user } }),
      extension: await p.extension.count({ where: { priority: 1, appdata: { startsWith: `PJSIP/${user},` } } }),
    };
  };

  it('removes the endpoint, auth, AOR, extension and mailbox; a late older event is stale', async () => {
    const user = '1679728501';
    await service.apply(created(user, 1, { num: '501' }));
    await service.apply(created(user, 2, { num: '502' }));
    expect(await rowsOf(user)).toEqual({ endpoint: 1, auth: 1, aor: 1, extension: 1 });
    expect(await env.prisma!.voicemail.count({ where: { context: 'acct-1001', mailbox: '502' } })).toBe(1);

    expect(await service.remove(deleted(user, 3, '502'))).toEqual({ status: 'applied' });
    expect(await rowsOf(user)).toEqual({ endpoint: 0, auth: 0, aor: 0, extension: 0 });
    expect(await env.prisma!.extension.count({ where: { context: 'acct-1001', exten: '502' } })).toBe(0);
    expect(await env.prisma!.voicemail.count({ where: { context: 'acct-1001', mailbox: '502' } })).toBe(0);
    // The account of its past calls is still known; nothing older brings it back.
    expect(await env.prisma!.provisionedUser.findUnique({ where: { user } })).toMatchObject({ accountId: 1001, version: 3 });
    expect(await service.apply(created(user, 2, { num: '502' }))).toMatchObject({ status: 'stale' });
    expect(await service.remove(deleted(user, 3, '502'))).toEqual({ status: 'stale' });
    expect(await rowsOf(user)).toEqual({ endpoint: 0, auth: 0, aor: 0, extension: 0 });
  });

  it("leaves an extension and mailbox another user holds by now", async () => {
    const gone = '1679728502';
    const next = '1679728503';
    await service.apply(created(gone, 1, { num: '510' }));
    // Applied out of order: the new holder of 510 first, then the deletion of the old one.
    await service.apply(created(next, 1, { num: '510' }));
    expect(await service.remove(deleted(gone, 2, '510'))).toEqual({ status: 'applied' });
    expect(await rowsOf(next)).toEqual({ endpoint: 1, auth: 1, aor: 1, extension: 1 });
    expect(await env.prisma!.voicemail.count({ where: { context: 'acct-1001', mailbox: '510' } })).toBe(1);
    expect((await rowsOf(gone)).endpoint).toBe(0);
  });

  it('a deletion of a user never provisioned here keeps a late create out', async () => {
    const user = '1679728504';
    expect(await service.remove(deleted(user, 2, '520'))).toEqual({ status: 'applied' });
    expect(await service.apply(created(user, 1, { num: '520' }))).toMatchObject({ status: 'stale' });
    expect(await rowsOf(user)).toEqual({ endpoint: 0, auth: 0, aor: 0, extension: 0 });
  });

  it('is applied from USERS_EVENTS by the provisioning consumer, in order with the create', async () => {
    await ensureStream(env.nc, USERS_EVENTS_STREAM);
    const user = '1679728505';
    const js = jetstream(env.nc);
    const c = created(user, 1, { num: '530' });
    const d = deleted(user, 2, '530');
    await js.publish(UsersUserCreated.subject, JSON.stringify(c), { msgID: c.event_id });
    await js.publish(UsersUserDeleted.subject, JSON.stringify(d), { msgID: d.event_id });
    await js.publish(UsersUserDeleted.subject, '{"user":"malformed"}');
    const consumer = new ProvisioningConsumer(
      env.nc,
      { user: (e) => service.apply(e), userDeleted: (e) => service.remove(e), number: (e: NumberRouting) => service.applyNumber(e) },
      quiet,
      { retryMs: 50 },
    );
    await consumer.start();
    try {
      await eventually(async () => (await env.prisma!.provisionedUser.findUnique({ where: { user } }))?.version === 2, 10_000);
      expect(await rowsOf(user)).toEqual({ endpoint: 0, auth: 0, aor: 0, extension: 0 });
    } finally {
      await consumer.stop();
    }
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NumberRouting, USERS_EVENTS_STREAM, UserDeprovisioning, UserProvisioning, UsersNumberAssigned, UsersNumberReleased, UsersUserCreated, UsersUserUpdated } from '@ringcloud/contracts-users';
import { ensureStream } from '@ringcloud/nest-nats';
import { ContextTemplate } from '../config/telephony-config';
import { TestEnv, eventually } from '../testing/test-env';
import { PROVISIONING_CONSUMER, ProvisioningConsumer } from './provisioning.consumer';
import { ProvisioningService, dialData, extensionSteps, inboundSteps, voicemailPin } from './provisioning.service';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function event(user: string, version: number, over: Partial<UserProvisioning> = {}, password = 'Str0ngPass'): UserProvisioning {
  return {
    event_id: randomUUID(),
    occurred_at: new Date().toISOString(),
    version,
    account_id: 1001,
    user,
    num: '401',
    mail: `${user}@example.com`,
    voice_mail_box: 'off',
    sip: { username: user, realm: 'ringcloud', md5_cred: md5(`${user}:ringcloud:${password}`) },
    changed: version === 1 ? ['password', 'num', 'mail', 'voice_mail_box'] : [],
    ...over,
  };
}

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('provisioning (real PostgreSQL and NATS)', () => {
  let env: TestEnv;
  let service: ProvisioningService;

  beforeAll(async () => {
    env = await TestEnv.start();
    service = new ProvisioningService(env.prisma!, new ContextTemplate('acct-{account}'), { transport: 'transport-udp', qualifyFrequency: 60, inboundContext: 'from-pstn' });
  }, 60_000);
  afterAll(async () => env?.stop());

  /** Everything provisioning writes, in a stable order (ids and timestamps left out). */
  async function snapshot() {
    const p = env.prisma!;
    return {
      endpoints: await p.psEndpoint.findMany({ orderBy: { id: 'asc' } }),
      auths: await p.psAuth.findMany({ orderBy: { id: 'asc' } }),
      aors: await p.psAor.findMany({ orderBy: { id: 'asc' } }),
      extensions: (await p.extension.findMany({ orderBy: [{ context: 'asc' }, { exten: 'asc' }, { priority: 'asc' }] })).map(({ id: _id, ...rest }) => rest),
      voicemail: (await p.voicemail.findMany({ orderBy: [{ context: 'asc' }, { mailbox: 'asc' }] })).map(({ uniqueid: _u, ...rest }) => rest),
      users: (await p.provisionedUser.findMany({ orderBy: { user: 'asc' } })).map(({ appliedAt: _a, eventId: _e, ...rest }) => rest),
      numbers: (await p.provisionedNumber.findMany({ orderBy: { number: 'asc' } })).map(({ appliedAt: _a, eventId: _e, ...rest }) => rest),
    };
  }

  async function clear() {
    const p = env.prisma!;
    await p.$transaction([p.psEndpoint.deleteMany(), p.psAuth.deleteMany(), p.psAor.deleteMany(), p.extension.deleteMany(), p.voicemail.deleteMany(), p.provisionedUser.deleteMany(), p.provisionedNumber.deleteMany()]);
  }

  it('writes the realtime rows Asterisk reads for a new user', async () => {
    await clear();
    expect(await service.apply(event('1679728441', 1))).toEqual({ status: 'applied', newContext: true });
    const s = await snapshot();
    expect(s.endpoints).toEqual([
      expect.objectContaining({
        id: '1679728441',
        transport: 'transport-udp',
        aors: '1679728441',
        auth: '1679728441',
        context: 'acct-1001',
        callerid: '"401" <401>',
        mailboxes: null,
        accountcode: '1001',
        disallow: 'all',
        allow: 'ulaw,alaw',
      }),
    ]);
    expect(s.auths).toEqual([
      expect.objectContaining({ id: '1679728441', authType: 'md5', username: '1679728441', realm: 'ringcloud', md5Cred: md5('1679728441:ringcloud:Str0ngPass'), password: null }),
    ]);
    // Qualified, so Asterisk reports the phone's registration (ContactStatus) — the adapter's only way to know it.
    expect(s.aors).toEqual([expect.objectContaining({ id: '1679728441', maxContacts: 1, removeExisting: 'yes', qualifyFrequency: 60 })]);
    // Hangup() right after the Dial: without it Asterisk would look for priority 2 in rc-outbound
    // (included by acct-N) and dial the extension out through the trunk.
    expect(s.extensions).toEqual([
      {
        context: 'acct-1001',
        exten: '401',
        priority: 1,
        app: 'Dial',
        // f(): a colleague rung by this user's click-to-call sees the user, not its own number (fixture 50).
        appdata: 'PJSIP/1679728441,30,${IF($["${RC_CALL_ID}" = ""]?:f(${CALLERID(num)} <${CALLERID(num)}>))}',
      },
      { context: 'acct-1001', exten: '401', priority: 2, app: 'Hangup', appdata: '' },
    ]);
    expect(s.voicemail).toEqual([]);
  });

  it("waits for another provisioning of the same user in this schema only (another deployment's schema is not in its way)", async () => {
    const user = '1679728499';
    const holdLock = async (schema: string) => {
      const held = new Client({ connectionString: env.schema!.databaseUrl.replace(/[?&]schema=[^&]*/, '') });
      await held.connect();
      await held.query(`SET search_path TO "${schema}"`);
      await held.query('BEGIN');
      await held.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext($1))', [`telephony-provision:${user}`]);
      return { release: async () => { await held.query('ROLLBACK'); await held.end(); } };
    };
    const finishes = (version: number) => Promise.race([service.apply(event(user, version)).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1500))]);
    const other = await holdLock('another_deployment');
    try {
      expect(await finishes(1)).toBe(true);
    } finally {
      await other.release();
    }
    const same = await holdLock(env.schema!.schema);
    try {
      expect(await finishes(2)).toBe(false); // still waiting for the lock; done once it is released
    } finally {
      await same.release();
    }
    await eventually(async () => (await env.prisma!.provisionedUser.findUnique({ where: { user } }))?.version === 2);
  });

  it('moves the extension, turns voicemail on and off, changes the secret — and ignores older versions', async () => {
    await clear();
    const user = '1679728442';
    await service.apply(event(user, 1));
    await service.apply(event(user, 2, { num: '402', voice_mail_box: 'on' }));
    let s = await snapshot();
    // Voicemail on: a caller the phone does not take reaches the mailbox (busy greeting when busy).
    expect(s.extensions).toEqual([
      { context: 'acct-1001', exten: '402', priority: 1, app: 'Dial', appdata: dialData(user) },
      { context: 'acct-1001', exten: '402', priority: 2, app: 'VoiceMail', appdata: '402@acct-1001,${IF($["${DIALSTATUS}" = "BUSY"]?b:u)}' },
      { context: 'acct-1001', exten: '402', priority: 3, app: 'Hangup', appdata: '' },
    ]);
    expect(s.endpoints[0]).toMatchObject({ mailboxes: '402@acct-1001', callerid: '"402" <402>' });
    expect(s.voicemail).toEqual([
      { context: 'acct-1001', mailbox: '402', password: voicemailPin(md5(`${user}:ringcloud:Str0ngPass`)), email: `${user}@example.com`, fullname: null, attach: null },
    ]);

    expect(await service.apply(event(user, 1, { num: '499' }))).toEqual({ status: 'stale', newContext: false });
    expect(await snapshot()).toEqual(s);

    await service.apply(event(user, 3, { num: '402', voice_mail_box: 'off' }, 'N3wPassword'));
    s = await snapshot();
    expect(s.voicemail).toEqual([]);
    expect(s.extensions).toEqual([
      { context: 'acct-1001', exten: '402', priority: 1, app: 'Dial', appdata: dialData(user) },
      { context: 'acct-1001', exten: '402', priority: 2, app: 'Hangup', appdata: '' },
    ]);
    expect(s.endpoints[0].mailboxes).toBeNull();
    expect(s.auths[0].md5Cred).toBe(md5(`${user}:ringcloud:N3wPassword`));
    expect(s.users).toEqual([{ user, accountId: 1001, num: '402', voicemail: false, version: 3 }]);
  });

  it('converges to the same rows whatever replay: twice in order, reversed, duplicated', async () => {
    const a = '1679728443';
    const b = '1679728444';
    const history = [
      event(a, 1),
      event(a, 2, { num: '402', voice_mail_box: 'on' }),
      event(b, 1, { num: '401' }), // b takes the extension a left
      event(a, 3, { num: '402', voice_mail_box: 'on', mail: 'new@example.com' }),
      event(b, 2, { num: '401', voice_mail_box: 'on' }, 'Other1Pass'),
    ];
    await clear();
    for (const e of history) await service.apply(e);
    const expected = await snapshot();
    expect(expected.extensions.filter((x) => x.priority === 1).map((x) => [x.exten, x.appdata])).toEqual([
      ['401', dialData(b)],
      ['402', dialData(a)],
    ]);
    expect(expected.voicemail.map((v) => v.mailbox)).toEqual(['401', '402']);

    expectEveryExtensionEndsInHangup(expected);

    for (const e of history) expect((await service.apply(e)).status).toBe('stale');
    expect(await snapshot()).toEqual(expected);

    await clear();
    for (const e of [...history].reverse()) await service.apply(e);
    expect(await snapshot()).toEqual(expected);

    await clear();
    for (const e of [...history, ...history]) await service.apply(e);
    expect(await snapshot()).toEqual(expected);
  });

  /**
   * Every account extension is its steps and nothing else: 1..n without a gap, Hangup() last,
   * VoiceMail() exactly when the user's mailbox is on — no priority Asterisk could find elsewhere.
   */
  function expectEveryExtensionEndsInHangup(s: Awaited<ReturnType<typeof snapshot>>) {
    const byExten = new Map<string, typeof s.extensions>();
    for (const x of s.extensions.filter((r) => r.context.startsWith('acct-'))) byExten.set(`${x.context}/${x.exten}`, [...(byExten.get(`${x.context}/${x.exten}`) ?? []), x]);
    expect(byExten.size).toBeGreaterThan(0);
    for (const [key, steps] of byExten) {
      const voicemail = s.voicemail.some((v) => `${v.context}/${v.mailbox}` === key);
      expect({ key, steps: steps.map((x) => [x.priority, x.app]) }).toEqual({
        key,
        steps: voicemail ? [[1, 'Dial'], [2, 'VoiceMail'], [3, 'Hangup']] : [[1, 'Dial'], [2, 'Hangup']],
      });
    }
  }

  it('keeps every extension ending in Hangup() through moves, voicemail toggles and account changes', async () => {
    await clear();
    const user = '1679728446';
    const other = '1679728447';
    const steps: Array<Partial<UserProvisioning>> = [
      {},
      { voice_mail_box: 'on' },
      { num: '405', voice_mail_box: 'on' },
      { num: '405', voice_mail_box: 'off' },
      { num: '406', voice_mail_box: 'on' },
      { num: '406', voice_mail_box: 'on', account_id: 1002 },
      { num: '401', voice_mail_box: 'off', account_id: 1001 },
    ];
    for (const [i, over] of steps.entries()) {
      await service.apply(event(user, i + 1, over));
      await service.apply(event(other, i + 1, { num: '409', voice_mail_box: i % 2 ? 'on' : 'off' }));
      const s = await snapshot();
      expectEveryExtensionEndsInHangup(s);
      // Only the extensions the users have now: nothing left behind where they were.
      expect(new Set(s.extensions.map((x) => `${x.context}/${x.exten}`))).toEqual(
        new Set([`acct-${over.account_id ?? 1001}/${over.num ?? '401'}`, 'acct-1001/409']),
      );
    }
  });

  it('gives extensions provisioned before the fix their Hangup() (migration extension_hangup)', async () => {
    await clear();
    const p = env.prisma!;
    await p.extension.createMany({
      data: [
        { context: 'acct-1001', exten: '401', priority: 1, app: 'Dial', appdata: 'PJSIP/1679728448,30' },
        ...extensionSteps('1679728449', '402', 'acct-1001', true),
        ...inboundSteps('acct-1001', '401').map((step) => ({ context: 'from-pstn', exten: '74951234567', ...step })),
      ].map((row) => ({ context: 'acct-1001', exten: '402', ...row })),
    });
    const before = await snapshot();
    const sql = readFileSync(path.join(__dirname, '../../prisma/migrations/20261203040000_extension_hangup/migration.sql'), 'utf8');
    await p.$executeRawUnsafe(sql);
    const after = await snapshot();
    expect(after.extensions).toEqual(
      [...before.extensions, { context: 'acct-1001', exten: '401', priority: 2, app: 'Hangup', appdata: '' }].sort(
        (a, b) => a.context.localeCompare(b.context) || a.exten.localeCompare(b.exten) || a.priority - b.priority,
      ),
    );
    await p.$executeRawUnsafe(sql); // twice: nothing more
    expect(await snapshot()).toEqual(after);
  });

  it('gives extensions provisioned before it the Dial that shows a colleague the caller (migration extension_dial_shows_originator), and still owns them before', async () => {
    await clear();
    const p = env.prisma!;
    const old = (exten: string, appdata: string, context = 'acct-1001') => ({ context, exten, priority: 1, app: 'Dial', appdata });
    await p.extension.createMany({
      data: [
        old('401', 'PJSIP/1679728453,30'),
        ...extensionSteps('1679728455', '403', 'acct-1001', true).map((step) => ({ context: 'acct-1001', exten: '403', ...step })),
        // Not the adapter's plain Dial, or not an account's: left as they are.
        old('404', 'PJSIP/1679728456&PJSIP/1679728457,30'),
        old('405', 'PJSIP/1679728458,20'),
        old('74951234567', 'PJSIP/1679728459,30', 'from-pstn'),
      ],
    });
    // An adapter of this release removes a user whose row an older one wrote (before the migration ran).
    await service.apply(event('1679728454', 1, { num: '402' }));
    await p.extension.updateMany({ where: { exten: '402', priority: 1 }, data: { appdata: 'PJSIP/1679728454,30' } });
    await service.remove({ event_id: randomUUID(), occurred_at: new Date().toISOString(), version: 2, account_id: 1001, user: '1679728454', num: '402' });
    const before = await snapshot();
    expect(before.extensions.filter((x) => x.exten === '402')).toEqual([]);

    const sql = readFileSync(path.join(__dirname, '../../prisma/migrations/20261203220000_extension_dial_shows_originator/migration.sql'), 'utf8');
    await p.$executeRawUnsafe(sql);
    const after = await snapshot();
    expect(after.extensions.find((x) => x.exten === '401' && x.priority === 1)?.appdata).toBe(dialData('1679728453'));
    const untouched = (x: { exten: string }) => x.exten !== '401';
    expect(after.extensions.filter(untouched)).toEqual(before.extensions.filter(untouched));
    await p.$executeRawUnsafe(sql); // twice: nothing more
    expect(await snapshot()).toEqual(after);
  });

  it("leaves e-mailing voicemail to voicemail.conf: rows written before get attach NULL (migration voicemail_attach_from_conf)", async () => {
    await clear();
    const p = env.prisma!;
    const box = (mailbox: string, attach: string | null) => ({ context: 'acct-1001', mailbox, password: '123456', email: `${mailbox}@example.com`, attach });
    await p.voicemail.createMany({ data: [box('401', 'yes'), box('402', 'no'), box('403', null)] });
    const sql = readFileSync(path.join(__dirname, '../../prisma/migrations/20261204020000_voicemail_attach_from_conf/migration.sql'), 'utf8');
    await p.$executeRawUnsafe(sql);
    const attach = async () => (await snapshot()).voicemail.map((v) => [v.mailbox, v.attach]);
    // Only what the adapter wrote ('yes'); a box an operator set to 'no' by hand keeps it.
    expect(await attach()).toEqual([
      ['401', null],
      ['402', 'no'],
      ['403', null],
    ]);
    await p.$executeRawUnsafe(sql);
    expect(await attach()).toEqual([
      ['401', null],
      ['402', 'no'],
      ['403', null],
    ]);
  });

  it("tells when a user is the first of its account (the PBX's dial plan must learn the context)", async () => {
    await clear();
    expect((await service.apply(event('1679728450', 1))).newContext).toBe(true);
    expect((await service.apply(event('1679728450', 2, { num: '450' }))).newContext).toBe(false);
    expect((await service.apply(event('1679728451', 1, { num: '451' }))).newContext).toBe(false);
    expect((await service.apply(event('1679728452', 1, { num: '452', account_id: 1002 }))).newContext).toBe(true);
  });

  it('applies concurrent deliveries of one user once', async () => {
    await clear();
    const results = await Promise.all([1, 2, 3, 3, 2].map((v) => service.apply(event('1679728445', v, { num: String(400 + v) }))));
    expect(results.filter((r) => r.status === 'applied').length).toBeGreaterThanOrEqual(1);
    const s = await snapshot();
    expect(s.users).toEqual([expect.objectContaining({ version: 3, num: '403' })]);
    expect(s.extensions.map((x) => x.exten)).toEqual(['403', '403']);
  });

  describe('inbound numbers', () => {
    const routing = (number: string, version: number, over: Partial<NumberRouting> = {}): NumberRouting => ({
      event_id: randomUUID(),
      occurred_at: new Date().toISOString(),
      version,
      number,
      account_id: 1001,
      user: '1679728460',
      num: '460',
      ...over,
    });
    const routes = async () =>
      (await snapshot()).extensions.filter((x) => x.context === 'from-pstn').map((x) => [x.exten, x.priority, x.app, x.appdata]);

    it('routes a number to its user: filed under the account, recorded, then the extension (voicemail included)', async () => {
      await clear();
      await service.apply(event('1679728460', 1, { num: '460' }));
      expect(await service.applyNumber(routing('74951234567', 1))).toEqual({ status: 'applied' });
      expect(await routes()).toEqual([
        ['74951234567', 1, 'Set', 'CDR(userfield)=acct-1001'],
        ['74951234567', 2, 'MixMonitor', '${RECDIR}/${UNIQUEID}.wav'],
        ['74951234567', 3, 'Goto', 'acct-1001,460,1'],
      ]);
    });

    it('follows the user to a new extension, moves on reassignment, goes on release — and ignores older states', async () => {
      await clear();
      await service.apply(event('1679728460', 1, { num: '460' }));
      await service.apply(event('1679728461', 1, { num: '461', account_id: 1002 }));
      await service.applyNumber(routing('74951234567', 1));
      await service.apply(event('1679728460', 2, { num: '470' }));
      expect((await routes()).at(-1)).toEqual(['74951234567', 3, 'Goto', 'acct-1001,470,1']);

      await service.applyNumber(routing('74951234567', 2, { account_id: 1002, user: '1679728461', num: '461' }));
      expect(await routes()).toEqual([
        ['74951234567', 1, 'Set', 'CDR(userfield)=acct-1002'],
        ['74951234567', 2, 'MixMonitor', '${RECDIR}/${UNIQUEID}.wav'],
        ['74951234567', 3, 'Goto', 'acct-1002,461,1'],
      ]);
      // The first user's later extension change no longer touches it.
      await service.apply(event('1679728460', 3, { num: '480' }));
      expect((await routes()).at(-1)).toEqual(['74951234567', 3, 'Goto', 'acct-1002,461,1']);

      expect(await service.applyNumber(routing('74951234567', 1))).toEqual({ status: 'stale' });
      await service.applyNumber(routing('74951234567', 3, { account_id: null, user: null, num: null }));
      expect(await routes()).toEqual([]);
      expect((await snapshot()).numbers).toEqual([{ number: '74951234567', accountId: null, user: null, version: 3 }]);
      // Assigned again later: the counter went on, so the new state applies.
      await service.applyNumber(routing('74951234567', 4));
      expect(await routes()).toHaveLength(3);
    });

    it('gives a user the smallest of its numbers to present on outside calls (set_var RC_CALLER_NUMBER), through assign, reassign, release and a later provisioning', async () => {
      await clear();
      const [U, V] = ['1679728460', '1679728461'];
      const callerNumbers = async () => Object.fromEntries((await snapshot()).endpoints.map((e) => [e.id, e.setVar]));
      await service.apply(event(U, 1, { num: '460' }));
      await service.apply(event(V, 1, { num: '461' }));
      expect(await callerNumbers()).toEqual({ [U]: null, [V]: null });
      await service.applyNumber(routing('74951230002', 1));
      await service.applyNumber(routing('74951230001', 1));
      expect(await callerNumbers()).toEqual({ [U]: 'RC_CALLER_NUMBER=74951230001', [V]: null });
      // The smaller moves to V: each presents its own.
      await service.applyNumber(routing('74951230001', 2, { user: V, num: '461' }));
      expect(await callerNumbers()).toEqual({ [U]: 'RC_CALLER_NUMBER=74951230002', [V]: 'RC_CALLER_NUMBER=74951230001' });
      await service.applyNumber(routing('74951230002', 2, { account_id: null, user: null, num: null }));
      expect(await callerNumbers()).toEqual({ [U]: null, [V]: 'RC_CALLER_NUMBER=74951230001' });
      // A stale event changes nothing; the user's own changes keep the number.
      await service.applyNumber(routing('74951230001', 1));
      await service.apply(event(V, 2, { num: '471', voice_mail_box: 'on' }));
      expect(await callerNumbers()).toEqual({ [U]: null, [V]: 'RC_CALLER_NUMBER=74951230001' });
      // A number applied before its user is provisioned here is on the endpoint once it is.
      await service.applyNumber(routing('74951239999', 1, { user: '1679728462', num: '462' }));
      await service.apply(event('1679728462', 1, { num: '462' }));
      expect((await callerNumbers())['1679728462']).toBe('RC_CALLER_NUMBER=74951239999');
    });

    it("applies a user's extension changes and its number's moves side by side without deadlock, ending as the last of each says", async () => {
      await clear();
      const [U, V] = ['1679728460', '1679728461'];
      await service.apply(event(U, 1, { num: '460' }));
      await service.apply(event(V, 1, { num: '461' }));
      await service.applyNumber(routing('74951230005', 1));
      // Each round: U renumbered while the number moves between U and V (U's provisioning moves its routes).
      for (let round = 1; round <= 8; round++) {
        const owner = round % 2 ? V : U;
        await Promise.all([
          service.apply(event(U, round + 1, { num: String(470 + round) })),
          service.applyNumber(routing('74951230005', round + 1, { user: owner, num: owner === U ? String(470 + round) : '461' })),
        ]);
      }
      // Round 8: the number is U's, U's extension 478.
      expect((await routes()).at(-1)).toEqual(['74951230005', 3, 'Goto', 'acct-1001,478,1']);
      expect(Object.fromEntries((await snapshot()).endpoints.map((e) => [e.id, e.setVar]))).toEqual({ [U]: 'RC_CALLER_NUMBER=74951230005', [V]: null });
    });

    it('gives users who had numbers before the release theirs (migration endpoint_caller_number)', async () => {
      await clear();
      await service.apply(event('1679728460', 1, { num: '460' }));
      await service.apply(event('1679728461', 1, { num: '461' }));
      await service.applyNumber(routing('74951230009', 1));
      await service.applyNumber(routing('74951230008', 1));
      await service.applyNumber(routing('74951230007', 1, { user: '1679728461', num: '461' }));
      await service.applyNumber(routing('74951230007', 2, { account_id: null, user: null, num: null }));
      const p = env.prisma!;
      await p.psEndpoint.updateMany({ data: { setVar: null } });
      const sql = readFileSync(path.join(__dirname, '../../prisma/migrations/20261204120000_endpoint_caller_number/migration.sql'), 'utf8');
      const backfill = sql.slice(sql.indexOf('UPDATE'));
      await p.$executeRawUnsafe(backfill);
      expect((await snapshot()).endpoints.map((e) => [e.id, e.setVar])).toEqual([
        ['1679728460', 'RC_CALLER_NUMBER=74951230008'],
        ['1679728461', null],
      ]);
    });

    it('uses the number event\'s extension for a user not provisioned here yet', async () => {
      await clear();
      await service.applyNumber(routing('74959990000', 1, { user: '1679728499', num: '499' }));
      expect((await routes()).at(-1)).toEqual(['74959990000', 3, 'Goto', 'acct-1001,499,1']);
    });
  });

  describe('durable consumer of USERS_EVENTS', () => {
    let consumer: ProvisioningConsumer | undefined;
    afterEach(async () => consumer?.stop());

    async function publish(e: UserProvisioning | string, subject = UsersUserUpdated.subject) {
      const js = jetstream(env.nc);
      await js.publish(subject, typeof e === 'string' ? e : JSON.stringify(e), typeof e === 'string' ? {} : { msgID: e.event_id });
    }

    it('provisions from the stream in order, acks after commit, skips malformed events and resumes where it stopped', async () => {
      await clear();
      await ensureStream(env.nc, USERS_EVENTS_STREAM);
      const user = '1679728446';
      await publish(event(user, 1), UsersUserCreated.subject);
      await publish('{"not":"a provisioning event"}');
      await publish(event(user, 2, { num: '402' }));

      const applied: number[] = [];
      const handlers = {
        user: async (e: UserProvisioning) => {
          applied.push(e.version);
          return service.apply(e);
        },
        userDeleted: (e: UserDeprovisioning) => service.remove(e),
        number: (e: NumberRouting) => service.applyNumber(e),
      };
      consumer = new ProvisioningConsumer(env.nc, handlers, quiet, { retryMs: 50 });
      await consumer.start();
      await eventually(async () => (await env.prisma!.provisionedUser.findUnique({ where: { user } }))?.version === 2);
      expect(applied).toEqual([1, 2]);
      const jsm = await jetstreamManager(env.nc);
      await eventually(async () => {
        const info = await jsm.consumers.info(USERS_EVENTS_STREAM.name, PROVISIONING_CONSUMER);
        return info.num_ack_pending === 0 && info.num_pending === 0 && info.delivered.stream_seq === 3;
      });
      expect((await jsm.consumers.info(USERS_EVENTS_STREAM.name, PROVISIONING_CONSUMER)).config.max_ack_pending).toBe(1);
      await consumer.stop();

      // A new process continues after the last ack: nothing is applied twice.
      await publish(event(user, 3, { num: '403' }));
      consumer = new ProvisioningConsumer(env.nc, handlers, quiet, { retryMs: 50 });
      await consumer.start();
      await eventually(async () => (await env.prisma!.provisionedUser.findUnique({ where: { user } }))?.version === 3);
      expect(applied).toEqual([1, 2, 3]);
    });

    it('applies inbound number events from the same stream, in order with the users', async () => {
      await clear();
      await ensureStream(env.nc, USERS_EVENTS_STREAM);
      const user = '1679728448';
      const number = (version: number, over: Partial<NumberRouting> = {}): NumberRouting => ({
        event_id: randomUUID(),
        occurred_at: new Date().toISOString(),
        version,
        number: '74957770001',
        account_id: 1001,
        user,
        num: '448',
        ...over,
      });
      await publish(event(user, 1, { num: '448' }), UsersUserCreated.subject);
      const js = jetstream(env.nc);
      const assigned = number(1);
      await js.publish(UsersNumberAssigned.subject, JSON.stringify(assigned), { msgID: assigned.event_id });
      await js.publish(UsersNumberAssigned.subject, '{"number":"not routing"}');
      const released = number(2, { account_id: null, user: null, num: null });
      await js.publish(UsersNumberReleased.subject, JSON.stringify(released), { msgID: released.event_id });
      consumer = new ProvisioningConsumer(env.nc, { user: (e) => service.apply(e), userDeleted: (e) => service.remove(e), number: (e) => service.applyNumber(e) }, quiet, { retryMs: 50 });
      await consumer.start();
      await eventually(async () => (await env.prisma!.provisionedNumber.findUnique({ where: { number: '74957770001' } }))?.version === 2);
      expect(await env.prisma!.extension.count({ where: { context: 'from-pstn' } })).toBe(0);
      expect(await env.prisma!.provisionedUser.findUnique({ where: { user } })).toMatchObject({ num: '448' });
    });

    it('does not ack when the database fails, and applies the event once it works again', async () => {
      await clear();
      const user = '1679728447';
      let failures = 2;
      const handlers = {
        user: async (e: UserProvisioning) => {
          if (failures-- > 0) throw Object.assign(new Error('connection refused'), { code: 'P1001' });
          return service.apply(e);
        },
        userDeleted: (e: UserDeprovisioning) => service.remove(e),
        number: (e: NumberRouting) => service.applyNumber(e),
      };
      await publish(event(user, 1));
      consumer = new ProvisioningConsumer(env.nc, handlers, quiet, { retryMs: 50 });
      await consumer.start();
      await eventually(async () => (await env.prisma!.provisionedUser.findUnique({ where: { user } }))?.version === 1);
      expect(failures).toBe(-1);
    });
  });
});

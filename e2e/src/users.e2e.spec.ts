import { V1Client } from '@ringcloud/testing';
import { expectError, expectSuccess, newAccountId, sleep, useStack } from './support';

const world = useStack();

/** Waits out the 1-per-N-seconds limit of an exact URL before calling it again. */
const again = (seconds: number) => sleep(seconds * 1000 + 50);

describe('users through the gateway (real processes)', () => {
  let rw: V1Client;
  let rw2: V1Client;
  let ro: V1Client;
  let user: string;

  const account = newAccountId();

  beforeAll(async () => {
    rw = await world.client(account, 'RW');
    // create is limited to 1 per 60 s per key: a second key of the same account creates the second user.
    rw2 = await world.client(account, 'RW');
    ro = await world.client(account, 'RO');
  });

  it('creates a user and returns its numeric user name', async () => {
    const res = await rw.post('/v1/users/create', { password: 'Sip5ecret!', num: '401', mail: 'ivan@example.com' });
    user = expectSuccess(res);
    expect(user).toMatch(/^[1-9][0-9]{9}$/);
  });

  it('shows the user with its SIP password to RW keys, null to RO keys', async () => {
    const full = expectSuccess(await rw.get(`/v1/users/${user}`));
    expect(full).toEqual({
      account_id: account,
      user,
      num: '401',
      mail: 'ivan@example.com',
      voice_mail_box: 'off',
      password: 'Sip5ecret!',
    });
    const redacted = expectSuccess(await ro.get(`/v1/users/${user}`));
    expect(redacted).toEqual({ ...full, password: null });
  });

  it('lists the account users', async () => {
    const list = expectSuccess(await rw.get('/v1/users'));
    expect(list).toEqual([expect.objectContaining({ user, num: '401', password: 'Sip5ecret!' })]);
    const roList = expectSuccess(await ro.get('/v1/users'));
    expect(roList.map((u: any) => u.password)).toEqual([null]);
  });

  it('updates password, extension, email and voicemail', async () => {
    expect(expectSuccess(await rw.post(`/v1/users/${user}/update_password`, { password: 'N3wSecret' }))).toBeNull();
    expectSuccess(await rw.post(`/v1/users/${user}/update_extension_number`, { num: '402' }));
    expectSuccess(await rw.post(`/v1/users/${user}/update_email`, { mail: 'petr@example.com' }));
    expectSuccess(await rw.post(`/v1/users/${user}/voice_mail_box_on`));
    await again(1);
    expect(expectSuccess(await rw.get(`/v1/users/${user}`))).toMatchObject({
      num: '402',
      mail: 'petr@example.com',
      voice_mail_box: 'on',
      password: 'N3wSecret',
    });
    expectSuccess(await rw.post(`/v1/users/${user}/voice_mail_box_off`));
    await again(1);
    expect(expectSuccess(await rw.get(`/v1/users/${user}`)).voice_mail_box).toBe('off');
  });

  it('refuses bad parameters with 400 and a clear message', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      [`/v1/users/${user}/update_extension_number`, { num: '4' }, /num/],
      [`/v1/users/${user}/update_email`, { mail: 'not-an-email' }, /mail/],
      [`/v1/users/${user}/update_password`, { password: '123' }, /weak/],
    ];
    await again(5);
    for (const [path, params, message] of cases) {
      expectError(await rw.post(path, params), 400, message);
    }
  });

  it('refuses an extension already used in the account', async () => {
    expectError(await rw2.post('/v1/users/create', { password: 'An0therOne', num: '402', mail: 'a@example.com' }), 400, /already used/);
    const rw3 = await world.client(account, 'RW');
    expectSuccess(await rw3.post('/v1/users/create', { password: 'An0therOne', num: '403', mail: 'a@example.com' }));
    await again(5);
    expectError(await rw.post(`/v1/users/${user}/update_extension_number`, { num: '403' }), 400, /already used/);
  });

  it('lets another account use the same extension', async () => {
    const other = await world.client(newAccountId(), 'RW');
    expect(expectSuccess(await other.post('/v1/users/create', { password: 'Sip5ecret!', num: '402', mail: 'x@example.com' }))).toMatch(/^\d+$/);
  });

  it('never shows one tenant another tenant’s users', async () => {
    const stranger = await world.client(newAccountId(), 'RW');
    expectError(await stranger.get(`/v1/users/${user}`), 404);
    expectError(await stranger.post(`/v1/users/${user}/update_email`, { mail: 'evil@example.com' }), 404);
    expect(expectSuccess(await stranger.get('/v1/users'))).toEqual([]);
    await again(1);
    expect(expectSuccess(await rw.get(`/v1/users/${user}`)).mail).toBe('petr@example.com');
  });

  it('answers 404 for an unknown user in the path', async () => {
    expectError(await rw.get('/v1/users/9999999999'), 404);
  });
});

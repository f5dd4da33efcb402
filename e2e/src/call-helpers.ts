import { V1Client, waitFor } from '@ringcloud/testing';
import { World, expectSuccess, newAccountId, simulatorControl } from './support';

export interface LiveChannel {
  channel: string;
  linkedid: string;
  bridge_id: string | null;
}

/** What the call tests of several files do with the world's stack (transfers, an adapter restart). */
export function callHelpers(world: World) {
  const control = simulatorControl(world);

  async function completed(client: V1Client, predicate: (c: any) => boolean, timeoutMs = 40_000) {
    let n = 0;
    return waitFor('completed call', async () => expectSuccess(await client.get('/v1/calls/complete', { days: '1', poll: String(++n) })).find(predicate), timeoutMs);
  }

  /** An account with two employees whose phones are registered. */
  async function colleagues(a: string, b: string) {
    const account = newAccountId();
    // users.create is limited per key and URL: one key per user.
    const create = async (num: string): Promise<string> =>
      expectSuccess(await (await world.client(account, 'RW')).post('/v1/users/create', { password: 'Sip5ecret!', num, mail: `u${num}@example.com` }));
    const team = { account, a: await create(a), b: await create(b), client: () => world.client(account, 'RW') };
    // Both phones on the PBX before the call: provisioning is asynchronous and the simulator's poll
    // may see the colleague seconds after the employee — a transfer to an unregistered phone is not
    // what these tests are about (CI once transferred before the colleague's poll).
    for (const user of [team.a, team.b]) await waitFor(`${user} registered`, async () => (await control(`/devices/${user}/register`, {})).ok, 20_000);
    return team;
  }

  /** POST /v1/calls from the employee until the PBX knows the phone (provisioning is asynchronous). */
  const originateFrom = (team: { a: string; client: () => Promise<V1Client> }, num: string) =>
    waitFor(
      `originate ${team.a} → ${num}`,
      async () => {
        const res = await (await team.client()).post('/v1/calls', { user: team.a, num });
        return res.status === 400 && /registered/.test(res.body?.message) ? undefined : res;
      },
      20_000,
    );

  /** The employee's phone transfers the party it talks to (404 until they talk). */
  const transferred = (user: string, to: string) =>
    waitFor(
      `${user} transfers to ${to}`,
      async () => {
        const res = await control('/calls/transfer', { user, to });
        return res.ok ? (res.body as { channel: string; transferee: string }) : undefined;
      },
      15_000,
    );

  const channels = async () => (await control('/channels')).body as LiveChannel[];

  /** Waits until the colleague's phone talks to the customer and the employee's channel is gone. */
  const colleagueTalks = (team: { a: string; b: string }) =>
    waitFor(
      'the colleague talks to the customer',
      async () => {
        const list = await channels();
        if (list.some((c) => c.channel.startsWith(`PJSIP/${team.b}-`)) && !list.some((c) => c.channel.startsWith(`PJSIP/${team.a}-`))) return list;
        throw new Error(`channels: ${JSON.stringify(list)}`);
      },
      10_000,
    );

  /** Seconds of audio in a downloaded recording (the simulator's PCM WAV: the data size over the byte rate). */
  async function recordingSeconds(client: V1Client, recFile: string): Promise<number> {
    const download = await fetch(client.url(recFile));
    expect(download.status).toBe(200);
    const wav = Buffer.from(await download.arrayBuffer());
    return wav.readUInt32LE(40) / wav.readUInt32LE(28);
  }

  return { control, completed, colleagues, originateFrom, transferred, channels, colleagueTalks, recordingSeconds };
}

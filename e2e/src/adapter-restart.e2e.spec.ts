import { Client } from 'pg';
import { startNatsServer, waitFor } from '@ringcloud/testing';
import { expectSuccess, useStack } from './support';
import { callHelpers } from './call-helpers';

// The telephony adapter restarts (a rolling deploy) while a call is up, and the call ends after it is
// back: the new process adopts the call from the PBX's channel list, and with it the recording
// MixMonitor is writing (MIXMONITOR_FILENAME, read with Getvar) — before, the call was listed without
// its recording and the file stayed in the PBX's folder. The PSTN talks 15 s (30 s of PBX time, 2×):
// time for a restart on a loaded machine.
const world = useStack({ telephony: true, env: { SIM_TALK_MS: '15000' } });

const { control, completed, colleagues, originateFrom, transferred, channels, colleagueTalks, recordingSeconds } = callHelpers(world);

/** Until the user's phone is bridged with the other party. */
const talking = (user: string, who: string) =>
  waitFor(`${who} talks to ${user}`, async () => (await channels()).some((c) => c.channel.startsWith(`PJSIP/${user}-`) && c.bridge_id), 20_000);

/** A click-to-call from the team's employee to `num`, answered: its call id once they talk. */
async function clickToCallTalking(team: Parameters<typeof originateFrom>[0], num: string): Promise<string | null> {
  const originate = await originateFrom(team, num);
  expect(originate.status).toBe(200);
  await talking(team.a, 'the customer');
  return originate.headers.get('x-call-id');
}

/** Stops the running telephony adapter (SIGTERM, then SIGKILL after `graceMs`: Kubernetes gives 30 s). */
async function stopAdapter(graceMs?: number): Promise<void> {
  // The one running (a process stopped by a signal has no exit code either).
  const adapter = world.stack.processes.find((p) => p.name === 'telephony-adapter' && p.child.exitCode === null && p.child.signalCode === null)!;
  expect(await adapter.stop('SIGTERM', graceMs)).toBe(0);
}

/** Stops the running telephony adapter and starts a new one once it is gone. */
async function restartAdapter(): Promise<void> {
  await stopAdapter();
  world.stack.addApp('telephony-adapter');
}

describe('the telephony adapter restarts while a call is up', () => {
  it("an answered inbound call: listed once it ended, with the whole call's recording", async () => {
    const team = await colleagues('711', '712');
    const reader = await team.client();
    expect((await control('/calls/inbound', { from: '79161230711', to_user: team.a })).ok).toBe(true);
    await talking(team.a, 'the caller');
    const restartedAt = Date.now();
    await restartAdapter();

    const call = await completed(reader, (c) => c.direction === 'incoming' && c.rec_file, 60_000);
    expect(call).toMatchObject({ dst: '711', disposition: 'ANSWERED', rec_file: expect.stringContaining(`/v1/users/${team.a}/records/`) });
    // It ended after the restart (the PSTN talked 15 s): the new process saw it end.
    expect(Date.parse(`${call.call_end_time.replace(' ', 'T')}Z`)).toBeGreaterThan(restartedAt - 1000);
    // The whole conversation: 30 s of PBX time, recorded on the caller's channel from the start.
    expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThanOrEqual(25);
    expect(expectSuccess(await reader.get('/v1/calls/complete', { days: '1', p: 'one' }))).toHaveLength(1);
  });

  it('a click-to-call transferred to a colleague before the restart: its recording parts are joined all the same', async () => {
    const team = await colleagues('721', '722');
    const callId = await clickToCallTalking(team, '79101234721');
    // They talk a while first (8 s of PBX time): the record must cover that part too.
    await new Promise((r) => setTimeout(r, 4000));
    await transferred(team.a, '722');
    await colleagueTalks(team);
    await restartAdapter();

    const reader = await team.client();
    const call = await completed(reader, (c) => c.call_id === callId && c.rec_file, 60_000);
    // As it began: the employee's outgoing call to the customer (the channels left after the transfer
    // — the customer's and the colleague's — would make it the customer's call to extension 722).
    expect(call).toMatchObject({
      direction: 'outgoing',
      src: '721',
      dst: '79101234721',
      disposition: 'ANSWERED',
      transferred_to: team.b,
      rec_file: expect.stringContaining(`/v1/users/${team.a}/records/`),
    });
    expect(expectSuccess(await reader.get('/v1/calls/complete', { days: '1', p: 'one' }))).toHaveLength(1);
    // From the first ring to the end (30 s of talk): the employee's part's CDR went with the process
    // before; the one left begins at the transfer.
    expect(call.duration).toBeGreaterThanOrEqual(28);
    const seconds = (time: string) => Date.parse(`${time.replace(' ', 'T')}Z`) / 1000;
    expect(Math.abs(seconds(call.call_end_time) - seconds(call.call_start_time) - call.duration)).toBeLessThanOrEqual(1);
    // Both parts, as one: the employee's (before the transfer) and the customer's (after it, recorded
    // while the new process took over) — the second alone would be its own recording, named -2.
    expect(call.rec_file).toMatch(/\/records\/[0-9.]+\.wav$/);
    expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThanOrEqual(25);
    const recordings = expectSuccess(await reader.get(`/v1/users/${team.a}/records`)) as Array<[string, string]>;
    expect(recordings.map(([f]) => f)).toEqual([call.rec_file.split('/').pop()]);
  });

  it('a click-to-call transferred while no adapter listened: the new one finds the transfer and records the rest, stored with the first part', async () => {
    const team = await colleagues('731', '732');
    const callId = await clickToCallTalking(team, '79101234731');
    const talkingAt = Date.now();
    await stopAdapter();
    // The employee's channel leaves with the transfer, and the recording the dial plan started on it.
    await transferred(team.a, '732');
    await colleagueTalks(team);
    const firstPartAtMost = (2 * (Date.now() - talkingAt)) / 1000 + 1; // PBX seconds (the simulator runs 2×)
    world.stack.addApp('telephony-adapter');

    const reader = await team.client();
    const call = await completed(reader, (c) => c.call_id === callId && c.rec_file, 60_000);
    // The transfer nobody saw is found at adoption: to the colleague whose phone is in the call.
    expect(call).toMatchObject({
      direction: 'outgoing',
      src: '731',
      dst: '79101234731',
      disposition: 'ANSWERED',
      transferred_to: team.b,
      rec_file: expect.stringContaining(`/v1/users/${team.a}/records/`),
    });
    expect(call.duration).toBeGreaterThanOrEqual(28);
    // One recording, named after the first part: the employee's part and the rest the new process
    // recorded on the customer's channel (before, the first part alone: at most firstPartAtMost).
    expect(call.rec_file).toMatch(/\/records\/[0-9.]+\.wav$/);
    expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThan(firstPartAtMost + 4);
    const recordings = expectSuccess(await reader.get(`/v1/users/${team.a}/records`)) as Array<[string, string]>;
    expect(recordings.map(([f]) => f)).toEqual([call.rec_file.split('/').pop()]);
    // The colleague talked too: the recording is listed under them.
    const theirs = expectSuccess(await reader.get(`/v1/users/${team.b}/records`)) as Array<[string, string]>;
    expect(theirs.map(([f]) => f)).toEqual([call.rec_file.split('/').pop()]);
  });

  it("an inbound call its employee transferred while no adapter listened: the transfer is found, the caller's recording whole", async () => {
    const team = await colleagues('741', '742');
    const reader = await team.client();
    expect((await control('/calls/inbound', { from: '79161230741', to_user: team.a })).ok).toBe(true);
    await talking(team.a, 'the caller');
    // calls-service holds the call as the employee's (its `user`): the new process adopts it so.
    await waitFor('the call listed active', async () => expectSuccess(await reader.get('/v1/calls/active', { p: String(Date.now()) })).some((c: any) => c.src === '79161230741'), 10_000);
    await stopAdapter();
    await transferred(team.a, '742');
    await colleagueTalks(team);
    world.stack.addApp('telephony-adapter');

    const call = await completed(reader, (c) => c.src === '79161230741' && c.rec_file, 60_000);
    expect(call).toMatchObject({ direction: 'incoming', dst: '741', disposition: 'ANSWERED', transferred_to: team.b });
    // Recorded on the caller's channel from the start, whatever the phones did: the whole call.
    expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThanOrEqual(25);
    const theirs = expectSuccess(await reader.get(`/v1/users/${team.b}/records`)) as Array<[string, string]>;
    expect(theirs.map(([f]) => f)).toEqual([call.rec_file.split('/').pop()]);
  });

  it('a call that ended while NATS was down, the adapter redeployed meanwhile: listed with its recording once NATS is back', async () => {
    const team = await colleagues('751', '752');
    const reader = await team.client();
    const callId = await clickToCallTalking(team, '79101234751');
    const natsPort = Number(new URL(world.stack.nats.url).port);
    const storeDir = world.stack.nats.storeDir!;
    await world.stack.nats.process!.stop('SIGKILL');
    const db = new Client({ connectionString: world.stack.databaseUrl });
    await db.connect();
    try {
      // The PSTN hangs up (15 s of talk) while NATS is away; then the adapter is redeployed, still without NATS.
      await waitFor('the call ended', async () => (await db.query(`SELECT 1 FROM telephony.recording_jobs WHERE job->'envelope'->>'call_id' = $1`, [callId])).rowCount === 1, 40_000);
      const stoppingAt = Date.now();
      await stopAdapter(30_000);
      // Nothing waits for the NATS that is away (a flush, the relay's try, the recording's store, the drain:
      // 5 s each before, 12.7 s in all on a real Asterisk): under any one of them, with room for a slow machine.
      const stopMs = Date.now() - stoppingAt;
      console.log(`adapter stopped in ${stopMs} ms with NATS away`);
      expect(stopMs).toBeLessThan(4500);
      const kept = await db.query(`SELECT subject FROM telephony.outbox_events WHERE payload->>'call_id' = $1 AND published_at IS NULL`, [callId]);
      expect(kept.rows.map((r) => r.subject)).toContain('telephony.call.ended');

      // NATS comes back with its streams; a new adapter publishes what the old one kept, and stores the recording.
      const revived = await startNatsServer(natsPort, storeDir);
      world.stack.nats.stop = async () => revived.stop();
      world.stack.addApp('telephony-adapter');
      const call = await completed(reader, (c) => c.call_id === callId && c.rec_file, 90_000);
      expect(call).toMatchObject({ direction: 'outgoing', src: '751', dst: '79101234751', disposition: 'ANSWERED', rec_file: expect.stringContaining(`/v1/users/${team.a}/records/`) });
      expect(await recordingSeconds(reader, call.rec_file)).toBeGreaterThanOrEqual(25);
      expect((await db.query(`SELECT 1 FROM telephony.recording_jobs`)).rowCount).toBe(0);
    } finally {
      await db.end();
    }
  });
});

import { Client } from 'pg';
import { ensureDatabase } from '@ringcloud/testing';

/**
 * Test helper: a uniquely named PostgreSQL schema holding Asterisk's realtime tables (the subset
 * of columns the simulator reads, with Asterisk's names). The real tables belong to the
 * telephony-adapter's migrations; tests create their own so they run alone.
 */
export const TEST_DATABASE_URL = process.env.PBX_SIM_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ringcloud_test';

export interface TestSchema {
  url: string;
  schema: string;
  query(sql: string, params?: unknown[]): Promise<void>;
  drop(): Promise<void>;
}

export async function createRealtimeSchema(): Promise<TestSchema> {
  const schema = `pbxsim_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await ensureDatabase(TEST_DATABASE_URL);
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`SET search_path TO "${schema}"`);
  await client.query(`
    CREATE TABLE ps_endpoints (
      id varchar(255) PRIMARY KEY, transport varchar(40), aors varchar(2048), auth varchar(255), context varchar(40),
      disallow varchar(200), allow varchar(200), direct_media varchar(40), dtmf_mode varchar(40), force_rport varchar(40),
      rewrite_contact varchar(40), rtp_symmetric varchar(40), callerid varchar(40), mailboxes varchar(40), accountcode varchar(80),
      media_address varchar(40), bind_rtp_to_media_address varchar(40), set_var text);
    CREATE TABLE ps_auths (
      id varchar(255) PRIMARY KEY, auth_type varchar(40), nonce_lifetime integer, md5_cred varchar(40), password varchar(80),
      realm varchar(255), username varchar(255));
    CREATE TABLE ps_aors (
      id varchar(255) PRIMARY KEY, contact varchar(255), default_expiration integer, mailboxes varchar(80), max_contacts integer,
      minimum_expiration integer, remove_existing varchar(40), qualify_frequency integer);
    CREATE TABLE extensions (
      id bigserial PRIMARY KEY, context varchar(40) NOT NULL, exten varchar(40) NOT NULL, priority integer NOT NULL,
      app varchar(40) NOT NULL, appdata varchar(256) NOT NULL, UNIQUE (context, exten, priority));
    CREATE TABLE voicemail (
      uniqueid serial PRIMARY KEY, context varchar(80) NOT NULL, mailbox varchar(80) NOT NULL, password varchar(80) NOT NULL,
      fullname varchar(80), email varchar(80), attach varchar(40), UNIQUE (context, mailbox));
  `);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    query: async (sql, params) => {
      await client.query(sql, params);
    },
    async drop() {
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
    },
  };
}

/** The VoiceMail row's data (docker/asterisk/extensions.conf): busy greeting when the Dial was busy. */
export const voicemailData = (num: string, context: string) => `${num}@${context},\${IF($["\${DIALSTATUS}" = "BUSY"]?b:u)}`;

/**
 * Dial's options in the extension's priority 1 as the adapter writes them now (fixtures 50/51):
 * a call the adapter originated (the employee's channel carries RC_CALL_ID) shows the colleague
 * the calling employee (`f(<ext> <ext>)`); a phone-dialled call substitutes to empty options.
 */
export const DIAL_OPTIONS_SHOWING_CALLER = '${IF($["${RC_CALL_ID}" = ""]?:f(${CALLERID(num)} <${CALLERID(num)}>))}';

/** The Dial row's data: `PJSIP/<user>,30,<options showing the caller>`, or without options (`plainDial`, rows before 50). */
export const dialData = (user: string, plainDial = false) => (plainDial ? `PJSIP/${user},30` : `PJSIP/${user},30,${DIAL_OPTIONS_SHOWING_CALLER}`);

/**
 * Provisions one user the way the telephony-adapter writes the rows (issue 7): ps_endpoints,
 * ps_auths (md5), ps_aors (max_contacts 1, remove_existing, qualify_frequency), the extension
 * rows (1 Dial; with voicemail 2 VoiceMail; then Hangup) and the mailbox. `hangup: false` leaves
 * the Hangup out, as the adapter did before issue 7's fix (the Dial's next priority then comes
 * from rc-outbound). `plainDial: true` writes the Dial as `PJSIP/<user>,30`, as the adapter did
 * when fixtures 40–49 were recorded (the scenarios recorded with it keep it); by default the Dial
 * shows a colleague called by click-to-call the caller (`dialData`).
 */
export async function provisionUser(
  db: TestSchema,
  p: { user: string; account: number; num: string; voicemail?: boolean; qualify?: number | null; hangup?: boolean; plainDial?: boolean; callerNumber?: string },
): Promise<void> {
  const ctx = `acct-${p.account}`;
  // One transaction, as the adapter writes them: the simulator polls ps_endpoints every 100 ms, and an
  // endpoint seen before its AOR registers without qualify (no ContactStatus) on a busy machine.
  await db.query('BEGIN');
  try {
    await insertUserRows(db, p, ctx);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}

async function insertUserRows(db: TestSchema, p: Parameters<typeof provisionUser>[1], ctx: string): Promise<void> {
  await db.query(
    `INSERT INTO ps_endpoints (id, transport, aors, auth, context, disallow, allow, direct_media, dtmf_mode, force_rport, rewrite_contact, rtp_symmetric, callerid, mailboxes, accountcode, set_var)
     VALUES ($1, 'transport-udp', $2, $3, $4, 'all', 'ulaw,alaw', 'no', 'rfc4733', 'yes', 'yes', 'yes', $5, $6, $7, $8)`,
    [p.user, p.user, p.user, ctx, `"${p.num}" <${p.num}>`, p.voicemail ? `${p.num}@${ctx}` : null, String(p.account), p.callerNumber ? `RC_CALLER_NUMBER=${p.callerNumber}` : null],
  );
  await db.query(`INSERT INTO ps_auths (id, auth_type, username, realm, md5_cred) VALUES ($1, 'md5', $2, 'ringcloud', md5($3))`, [p.user, p.user, `${p.user}:ringcloud:secret`]);
  await db.query(`INSERT INTO ps_aors (id, max_contacts, remove_existing, qualify_frequency) VALUES ($1, 1, 'yes', $2)`, [p.user, p.qualify === undefined ? 60 : p.qualify]);
  await db.query(`INSERT INTO extensions (context, exten, priority, app, appdata) VALUES ($1, $2, 1, 'Dial', $3)`, [ctx, p.num, dialData(p.user, p.plainDial)]);
  if (p.voicemail) {
    await db.query(`INSERT INTO extensions (context, exten, priority, app, appdata) VALUES ($1, $2, 2, 'VoiceMail', $3)`, [ctx, p.num, voicemailData(p.num, ctx)]);
    await db.query(`INSERT INTO voicemail (context, mailbox, password, email, attach) VALUES ($1, $2, '123456', $3, 'yes')`, [ctx, p.num, `${p.num}@example.com`]);
  }
  if (p.hangup !== false) {
    await db.query(`INSERT INTO extensions (context, exten, priority, app, appdata) VALUES ($1, $2, $3, 'Hangup', '')`, [ctx, p.num, p.voicemail ? 3 : 2]);
  }
}

/**
 * Deletes a user's rows as the adapter's deprovisioning does (ProvisioningService.remove, one
 * transaction): ps_endpoints, ps_auths, ps_aors, then the extension's rows and mailbox. No
 * `dialplan reload`: realtime rows are read when a channel needs them (fixtures 52/53).
 */
export async function deprovisionUser(db: TestSchema, p: { user: string; account: number; num: string }): Promise<void> {
  const ctx = `acct-${p.account}`;
  await db.query('BEGIN');
  try {
    await db.query('DELETE FROM ps_endpoints WHERE id = $1', [p.user]);
    await db.query('DELETE FROM ps_auths WHERE id = $1', [p.user]);
    await db.query('DELETE FROM ps_aors WHERE id = $1', [p.user]);
    await db.query('DELETE FROM extensions WHERE context = $1 AND exten = $2', [ctx, p.num]);
    await db.query('DELETE FROM voicemail WHERE context = $1 AND mailbox = $2', [ctx, p.num]);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}

/** An inbound number (DID) routed to a user's extension, as the adapter writes it (context from-pstn). */
export async function assignDid(db: TestSchema, p: { did: string; account: number; num: string }): Promise<void> {
  const ctx = `acct-${p.account}`;
  await db.query(
    `INSERT INTO extensions (context, exten, priority, app, appdata) VALUES ('from-pstn', $1, 1, 'Set', $2), ('from-pstn', $1, 2, 'MixMonitor', '\${RECDIR}/\${UNIQUEID}.wav'), ('from-pstn', $1, 3, 'Goto', $3)`,
    [p.did, `CDR(userfield)=${ctx}`, `${ctx},${p.num},1`],
  );
}

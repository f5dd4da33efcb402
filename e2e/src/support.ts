import { AdminClient, CrmEventFeed, Credentials, Stack, StackOptions, V1Client, startStack } from '@ringcloud/testing';

export interface World {
  stack: Stack;
  admin: AdminClient;
  /** A client with a fresh key for `account` on gateway `gateway` (default the first). */
  client(account: number, access: 'RO' | 'RW', gateway?: number): Promise<V1Client>;
  clientFor(credentials: Credentials, gateway?: number): V1Client;
}

/** Starts one stack for the file (beforeAll) and stops it after (afterAll). */
export function useStack(options: StackOptions = {}): World {
  const world = {} as World;
  beforeAll(async () => {
    world.stack = await startStack(options);
    world.admin = new AdminClient(world.stack.gateways[0], world.stack.adminToken);
    world.clientFor = (credentials, gateway = 0) => new V1Client(world.stack.gateways[gateway], credentials);
    world.client = async (account, access, gateway = 0) => world.clientFor(await world.admin.createKey(account, access), gateway);
  }, 120_000);
  afterAll(async () => {
    await world.stack?.stop();
  }, 60_000);
  return world;
}

/**
 * A webhook receiver and a CRM_EVENTS publisher on the stack's NATS for the enclosing describe (or
 * file): started in beforeAll, stopped in afterAll. Call after useStack.
 */
export function useCrmEventFeed(world: World, idPrefix: string): CrmEventFeed {
  const feed = new CrmEventFeed(idPrefix);
  beforeAll(() => feed.start(world.stack.nats.url), 30_000);
  afterAll(() => feed.stop());
  return feed;
}

/**
 * The PBX simulator's control API of the world's stack: POST with a JSON body, GET without one;
 * answers the status and the JSON body (undefined when there is none).
 */
export function simulatorControl(world: World) {
  return (p: string, body?: unknown) =>
    fetch(`${world.stack.simulatorControl}${p}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, ok: r.ok, body: (await r.json().catch(() => undefined)) as any }));
}

let accountSeq = 0;
/** Account ids unique within a run, so files and tests never share tenants by accident. */
export const newAccountId = () => 20_000 + (process.pid % 1000) * 100 + ++accountSeq;

let extSeq = 100;
export const nextExtension = () => String(++extSeq);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The v1 error envelope with a given message (regex or exact). */
export function expectError(res: { status: number; body: any }, status: number, message?: string | RegExp) {
  expect({ status: res.status, envelope: res.body?.status, data: res.body?.data }).toEqual({ status, envelope: 'error', data: null });
  if (message instanceof RegExp) expect(res.body.message).toMatch(message);
  else if (message) expect(res.body.message).toBe(message);
  else expect(typeof res.body.message).toBe('string');
}

export function expectSuccess(res: { status: number; body: any; text?: string }) {
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text}`);
  expect(res.body.status).toBe('success');
  expect(res.body.message).toBeNull();
  return res.body.data;
}

/** Set-up shared by the calls parts of the bench: the simulator's control API and provisioned users. */
import { AdminClient, Stack, V1Client, waitFor } from '@ringcloud/testing';

export async function control(stack: Stack, path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.simulatorControl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** A new user in `account`, once the PBX knows its endpoint (provisioning goes through JetStream), registered with `behaviour`. */
export async function provisionedUser(stack: Stack, account: number, num: string, behaviour: 'answer' | 'busy'): Promise<{ client: V1Client; user: string }> {
  const admin = new AdminClient(stack.gateways[0], stack.adminToken);
  const client = new V1Client(stack.gateways[0], await admin.createKey(account, 'RW'));
  const created = await client.post('/v1/users/create', { password: 'Bench5ecret', num, mail: `bench${num}@example.com` });
  if (created.status !== 200) throw new Error(`user create failed: ${created.text}`);
  const user: string = created.body.data;
  await waitFor(`endpoint ${user} on the PBX`, async () => (await control(stack, `/devices/${user}/register`, { behaviour })).status === 200, 30_000);
  return { client, user };
}

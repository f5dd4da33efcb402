import { Webhook } from 'standardwebhooks';
import { newSigningSecret } from '../infra/ids';
import { standardWebhookHeaders } from './signature';

describe('Standard Webhooks signature', () => {
  const body = JSON.stringify({ id: 'evt_x', type: 'call.ringing', data: { n: 'é' } });
  const now = Math.floor(Date.now() / 1000);

  it('is accepted by the official verifier, and only with the right secret', () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const headers = standardWebhookHeaders([secret], 'evt_x', now, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('signs with both secrets while two are valid: either verifies', () => {
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    const headers = standardWebhookHeaders([current, previous], 'evt_y', now, body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, headers)).toBeTruthy();
    expect(new Webhook(previous).verify(body, headers)).toBeTruthy();
  });
});

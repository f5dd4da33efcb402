import { HttpProblem } from '../http/http-problem';
import { AdminMessage, checkAdminToken } from './admin-auth';

const refusal = (expected: string | undefined, header: string | undefined) => {
  try {
    checkAdminToken(expected, header);
    return 'accepted';
  } catch (err) {
    return err instanceof HttpProblem ? `${err.status} ${err.message}` : 'other';
  }
};

describe('checkAdminToken', () => {
  const token = 'a-very-long-admin-token';
  it('is disabled without a configured token', () => {
    expect(refusal(undefined, `Bearer ${token}`)).toBe(`403 ${AdminMessage.Disabled}`);
  });
  it('accepts only the exact bearer token', () => {
    expect(refusal(token, `Bearer ${token}`)).toBe('accepted');
    expect(refusal(token, `bearer ${token}`)).toBe('accepted');
    // RFC 7235: one or more spaces after the scheme; surrounding white space is trimmed.
    expect(refusal(token, `Bearer   ${token}`)).toBe('accepted');
    expect(refusal(token, ` Bearer ${token} `)).toBe('accepted');
    expect(refusal(token, `Bearer ${token} extra`)).toBe(`403 ${AdminMessage.NoToken}`);
    expect(refusal(token, `Bearer\t${token}`)).toBe(`403 ${AdminMessage.NoToken}`);
    expect(refusal(token, undefined)).toBe(`403 ${AdminMessage.NoToken}`);
    expect(refusal(token, token)).toBe(`403 ${AdminMessage.NoToken}`);
    expect(refusal(token, `Bearer ${token}x`)).toBe(`403 ${AdminMessage.InvalidToken}`);
    expect(refusal(token, `Bearer ${token.slice(0, -1)}`)).toBe(`403 ${AdminMessage.InvalidToken}`);
  });
});

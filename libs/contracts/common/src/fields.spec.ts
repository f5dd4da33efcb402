import { z } from 'zod';
import { AccountId, DialNumber, Email, Extension, SipPassword, firstIssueMessage } from './fields';
import { subjectToken } from './message';

describe('field rules', () => {
  it('accepts 2-6 digit extensions, as strings or whole numbers', () => {
    expect(Extension.parse('401')).toBe('401');
    expect(Extension.parse(401)).toBe('401');
    for (const bad of ['4', '1234567', '40a', ' 401', 4.5, -1, true, null, {}, []]) {
      expect(Extension.safeParse(bad).success).toBe(false);
    }
  });

  it('accepts dial numbers of 2-20 digits with an optional +', () => {
    expect(DialNumber.parse('+79101234567')).toBe('+79101234567');
    for (const bad of ['1', '+', '7910123456712345678901', '79-10', '++79', '79\r\n']) {
      expect(DialNumber.safeParse(bad).success).toBe(false);
    }
  });

  it('refuses weak, empty or non-printable SIP passwords with a clear message', () => {
    expect(SipPassword.parse('Str0ngPass')).toBe('Str0ngPass');
    const weak = SipPassword.safeParse('abc');
    expect(weak.success || firstIssueMessage(weak.error)).toMatch(/too weak/);
    expect(SipPassword.safeParse('').success).toBe(false);
    expect(SipPassword.safeParse('onlyletters').success).toBe(false);
    expect(SipPassword.safeParse('pass word1').success).toBe(false);
    expect(SipPassword.safeParse('pässwörd1').success).toBe(false);
  });

  it('validates emails', () => {
    expect(Email.parse(' ivan@example.com ')).toBe('ivan@example.com');
    expect(Email.safeParse('not-an-email').success).toBe(false);
    expect(Email.safeParse(`${'a'.repeat(250)}@x.io`).success).toBe(false);
  });
});

describe('firstIssueMessage', () => {
  const message = (schema: z.ZodType, value: unknown) => {
    const r = schema.safeParse(value);
    return r.success ? 'ok' : firstIssueMessage(r.error);
  };
  it('tells a missing field from a wrongly typed one', () => {
    const params = z.object({ mail: Email, num: Extension, password: SipPassword, user: z.string() });
    const valid = { mail: 'a@example.com', num: '401', password: 'Str0ngPass', user: 'x' };
    expect(message(params, valid)).toBe('ok');
    expect(message(params, { ...valid, mail: undefined })).toBe('mail is required');
    expect(message(params, { ...valid, mail: 5 })).toBe('mail must be a string');
    expect(message(params, { ...valid, num: undefined })).toBe('num is required');
    expect(message(params, { ...valid, num: true })).toBe('num must be a string of 2 to 6 digits');
    for (const num of [1e30, -5, 4.5]) expect(message(params, { ...valid, num })).toBe('num must be a string of 2 to 6 digits');
    expect(message(params, { ...valid, password: undefined })).toBe('password is required');
    expect(message(params, { ...valid, password: [] })).toBe('password must be a string');
    expect(message(params, { ...valid, user: undefined })).toBe('user is required');
  });

  it("names the field when the message is zod's own (which does not)", () => {
    const body = z.object({ account_id: AccountId, name: z.string().min(1).max(200), events: z.array(z.string().min(1, 'events must not be empty strings')) });
    const valid = { account_id: 1001, name: 'x', events: ['a'] };
    expect(message(body, { ...valid, account_id: 2 ** 40 })).toBe('account_id: Too big: expected number to be <=2147483647');
    expect(message(body, { ...valid, account_id: '1001' })).toBe('account_id: Invalid input: expected number, received string');
    expect(message(body, { ...valid, name: '' })).toBe('name: Too small: expected string to have >=1 characters');
    expect(message(body, { ...valid, events: [''] })).toBe('events must not be empty strings');
  });
});

describe('subjectToken', () => {
  it('keeps safe tokens and escapes everything that could change a subject', () => {
    expect(subjectToken('PJSIP_1001-x')).toBe('PJSIP_1001-x');
    expect(subjectToken('a.b')).toBe('a~2eb');
    expect(subjectToken('*>\r\n')).toBe('~2a~3e~0d~0a');
    expect(subjectToken('')).toBe('~');
  });
});

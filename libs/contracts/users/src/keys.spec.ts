import { AccountName } from './keys';

describe('AccountName', () => {
  it('accepts printable text, trimmed', () => {
    expect(AccountName.parse('  Acme Ltd. — Москва  ')).toBe('Acme Ltd. — Москва');
  });

  it.each(['x\ny', 'a\u0000b', 'a\u0007b', 'tab\there', 'del\u007f', 'esc\u001b[31m'])('refuses control characters in %j', (name) => {
    const result = AccountName.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('name must not contain control characters');
  });
});

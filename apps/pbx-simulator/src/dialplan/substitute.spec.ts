import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateExpression } from './expr';
import { Resolver, substitute, substring } from './substitute';

const vars: Record<string, string> = { EXTEN: '+79101234567', DIALSTATUS: 'BUSY', RECDIR: '/var/spool/asterisk/monitor', UNIQUEID: '1796232102.12', EMPTY: '' };
const warnings: string[] = [];
const resolver: Resolver = {
  lookup: (n) => vars[n],
  call: (name, args) => (name === 'CALLERID' && args === 'num' ? '74950001122' : undefined),
  warn: (m) => warnings.push(m),
};
const sub = (text: string) => substitute(text, resolver);

beforeEach(() => (warnings.length = 0));

describe('$[...] expressions', () => {
  it.each([
    ['"BUSY" = "BUSY"', '1'],
    ['"NOANSWER" = "BUSY"', '0'],
    ['BUSY != BUSY', '0'],
    ['"" = ""', '1'],
    ['2 < 10', '1'],
    ['"2" < "10"', '1'],
    ['abc < abd', '1'],
    ['1 + 2 * 3', '7'],
    ['(1 + 2) * 3', '9'],
    ['7 / 2', '3'],
    ['7 % 4', '3'],
    ['-3 + 1', '-2'],
    ['!0', '1'],
    ['1 & 0', '0'],
    ['a & b', 'a'],
    ['0 | b', 'b'],
    ['"" | 0', '0'],
    ['1 = 1 & 2 >= 2', '1'],
    ['', ''],
  ])('$[%s] = %s', (expr, result) => {
    expect(evaluateExpression(expr)).toBe(result);
  });

  it.each(['1 +', '(1', '"open', '1 / 0', 'a + 1', 'a =~ b'])('refuses $[%s]', (expr) => {
    expect(() => evaluateExpression(expr)).toThrow();
  });
});

describe('substitution', () => {
  it('substitutes variables, globals and functions', () => {
    expect(sub('${RECDIR}/${UNIQUEID}.wav')).toBe('/var/spool/asterisk/monitor/1796232102.12.wav');
    expect(sub('from ${CALLERID(num)} to ${EXTEN}')).toBe('from 74950001122 to +79101234567');
    expect(sub('${UNSET}x${EMPTY}')).toBe('x');
  });

  it('takes substrings: ${EXTEN:1}, ${X:-4}, ${X:1:3}, ${X:0:-2}', () => {
    expect(sub('${EXTEN:1}')).toBe('79101234567');
    expect(sub('${EXTEN:-4}')).toBe('4567');
    expect(sub('${EXTEN:1:3}')).toBe('791');
    expect(sub('${EXTEN:0:-2}')).toBe('+791012345');
    expect(substring('abc', 5)).toBe('');
    expect(substring('abc', -9)).toBe('abc');
  });

  it('evaluates the voicemail option of the shipped rows', () => {
    const vm = '102@acct-7,${IF($["${DIALSTATUS}" = "BUSY"]?b:u)}';
    expect(sub(vm)).toBe('102@acct-7,b');
    vars.DIALSTATUS = 'NOANSWER';
    expect(sub(vm)).toBe('102@acct-7,u');
    vars.DIALSTATUS = '';
    expect(sub(vm)).toBe('102@acct-7,u');
    vars.DIALSTATUS = 'BUSY';
  });

  it('handles IF with missing branches and nested expressions', () => {
    expect(sub('${IF($[1 = 1]?yes)}')).toBe('yes');
    expect(sub('${IF($[1 = 2]?yes)}')).toBe('');
    expect(sub('${IF(0?a:b)}')).toBe('b');
    expect(sub('$[${EXTEN:1:1} + 1]')).toBe('8');
  });

  it('keeps text without substitutions and reports what it cannot do', () => {
    expect(sub('PJSIP/100@trunk,60')).toBe('PJSIP/100@trunk,60');
    expect(sub('cost $5')).toBe('cost $5');
    expect(sub('${NOPE(1)}')).toBe('');
    expect(sub('$[1 +]')).toBe('');
    expect(sub('${EXTEN')).toBe('${EXTEN');
    expect(warnings).toHaveLength(3);
  });
});

describe("the shipped rc-outbound guard (docker/asterisk/extensions.conf, priority 3), as the real PBX evaluated it", () => {
  const conf = readFileSync(path.resolve(__dirname, '../../../../docker/asterisk/extensions.conf'), 'utf8');
  const rcOutbound = conf.slice(conf.indexOf('[rc-outbound]'));
  const data = /^ same => n,MixMonitor\((.*)\)$/m.exec(rcOutbound)![1];
  const FILE = '/var/spool/asterisk/monitor/1796348296.2.wav';
  /** MixMonitor's argument for a channel of `endpoint` with these variables (TRUNK = trunk, as shipped). */
  const argument = (endpoint: string, channelVars: Record<string, string>) =>
    substitute(data, {
      lookup: (n) => ({ RECDIR: '/var/spool/asterisk/monitor', TRUNK: 'trunk', UNIQUEID: '1796348296.2', ...channelVars })[n],
      call: (name, args) => (name === 'CHANNEL' && args === 'endpoint' ? endpoint : undefined),
      warn: (m) => warnings.push(m),
    });

  it.each([
    ['a phone dials out, or a click-to-call after the employee answered (32–35)', '3883441349', {}, FILE],
    ["a Dial that failed, the extension's rows gone meanwhile (52, 53)", '2079939652', { DIALSTATUS: 'BUSY' }, ''],
    ['the same after no answer (lab 2026-12-04)', '2079939652', { DIALSTATUS: 'NOANSWER' }, ''],
    ['the same, phone not registered', '2079939652', { DIALSTATUS: 'CHANUNAVAIL' }, ''],
    ["the PSTN's call reaching an extension without rows (54)", 'trunk', {}, ''],
    // Transfers reach extensions only: dialled out, the caller's number went out as the caller id and the route's recording was overwritten (59d).
    ['a PSTN caller the employee answered and blind-transferred to an outside number (59d)', 'trunk', { DIALSTATUS: 'ANSWER', BLINDTRANSFER: 'PJSIP/7067455188-00000010' }, ''],
    ["a click-to-call's customer blind-transferred to an outside number (lab 2026-12-04)", 'trunk', { BLINDTRANSFER: 'PJSIP/3883441349-00000004' }, ''],
    ["a colleague an internal call's caller blind-transferred to an outside number", '2079939652', { DIALSTATUS: 'ANSWER', BLINDTRANSFER: 'PJSIP/3883441349-00000004' }, ''],
    ['a phone that was transferred to, dialling out itself later (its own new call)', '2079939652', {}, FILE],
  ])('%s', (_what, endpoint, channelVars: Record<string, string>, expected) => {
    expect(argument(endpoint, channelVars)).toBe(expected);
    expect(warnings).toEqual([]);
  });
});

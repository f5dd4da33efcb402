import { forcedConnectedLine, parseAppOptions, splitAppArgs } from './dial-args';

describe("Dial()'s arguments", () => {
  it.each([
    ['PJSIP/9727349586,30', ['PJSIP/9727349586', '30']],
    ['PJSIP/9727349586,30,', ['PJSIP/9727349586', '30', '']],
    ['PJSIP/9727349586,30,f(901 <901>)', ['PJSIP/9727349586', '30', 'f(901 <901>)']],
    // Commas inside parentheses or quotes do not separate; the quotes go.
    ['PJSIP/1,30,f(Doe, John <901>)tr', ['PJSIP/1', '30', 'f(Doe, John <901>)tr']],
    ['PJSIP/1,30,f("Doe, John" <901>)', ['PJSIP/1', '30', 'f(Doe, John <901>)']],
    ['a\\,b,c', ['a,b', 'c']],
  ])('%s splits as AST_STANDARD_APP_ARGS does', (data, args) => {
    expect(splitAppArgs(data)).toEqual(args);
  });

  it('reads options with and without arguments, nested parentheses included', () => {
    expect([...parseAppOptions('tf(901 <901>)U(sub(a))r')]).toEqual([
      ['t', undefined],
      ['f', '901 <901>'],
      ['U', 'sub(a)'],
      ['r', undefined],
    ]);
    expect(parseAppOptions('f()').get('f')).toBe('');
    expect(parseAppOptions('').size).toBe(0);
  });

  it.each([
    ['f(901 <901>)', { num: '901', name: '901' }],
    ['f("Alice Smith" <901>)', { num: '901', name: 'Alice Smith' }],
    ['f(<901>)', { num: '901', name: '' }],
    ['f(901)', { num: '901', name: '' }],
    ['f(Reception)', { num: '', name: 'Reception' }],
    // Without x app_dial forces the identity on call forwards only: a direct call is unchanged.
    ['f()', undefined],
    ['f', undefined],
    ['tr', undefined],
  ])('f(x): %s → the dialled channel connected line %j', (options, party) => {
    expect(forcedConnectedLine(parseAppOptions(options))).toEqual(party);
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConf, value, values } from './conf';
import { parseDialplan } from './dialplan';

const shipped = (file: string) => readFileSync(path.join(__dirname, '../../../docker/asterisk', file), 'utf8');

describe('parseConf', () => {
  it('keeps sections, repeated keys in order, both separators, templates and directives', () => {
    const conf = parseConf(
      [
        '; leading comment',
        '[general]',
        'enabled = yes ; trailing comment',
        '[crm](!)',
        'permit => 10.0.0.0/8',
        'permit = 127.0.0.1/32',
        'secret = a\\;b',
        '[user](crm,other)',
        '#include "extra.conf"',
        ';-- a block',
        'comment --;',
        'read = system',
      ].join('\n'),
    );
    expect(conf.errors).toEqual([]);
    expect(conf.sections.map((s) => [s.name, s.template, s.inherits])).toEqual([
      ['general', false, []],
      ['crm', true, []],
      ['user', false, ['crm', 'other']],
    ]);
    expect(values(conf.sections[1], 'PERMIT')).toEqual(['10.0.0.0/8', '127.0.0.1/32']);
    expect(conf.sections[1].entries[0].arrow).toBe(true);
    expect(value(conf.sections[1], 'secret')).toBe('a;b');
    expect(value(conf.sections[2], 'read')).toBe('system');
    expect(conf.directives).toEqual([{ kind: 'include', argument: 'extra.conf', line: 9, section: 'user' }]);
  });

  it('reports what it cannot read instead of guessing', () => {
    const conf = parseConf('orphan = 1\n[s]\njust words\n');
    expect(conf.errors.map((e) => e.line)).toEqual([1, 3]);
  });

  it('reads every shipped docker/asterisk file without an error', () => {
    for (const file of ['sorcery.conf', 'extconfig.conf', 'modules.conf', 'pjsip.conf', 'manager.conf', 'extensions.conf', 'voicemail.conf', 'cdr.conf']) {
      expect({ file, errors: parseConf(shipped(file)).errors }).toEqual({ file, errors: [] });
    }
  });
});

describe('parseDialplan', () => {
  it('numbers n priorities, follows same =>, keeps labels, includes and switches', () => {
    const plan = parseDialplan(
      [
        '[globals]',
        'RECDIR = /var/spool',
        '[ctx]',
        'exten => _X.,1,NoOp(a, b)',
        ' same => n(dial),Dial(PJSIP/${EXTEN}@trunk,60)',
        ' same => n,Hangup()',
        'exten => 100,1,Answer',
        'exten => 100,n,Wait,3',
        'switch => Realtime/ctx@extensions',
        'include => other',
      ].join('\n'),
    );
    expect(plan.errors).toEqual([]);
    expect(plan.globals).toEqual({ RECDIR: '/var/spool' });
    const ctx = plan.contexts.get('ctx')!;
    expect(ctx.extensions[0].steps.map((s) => [s.priority, s.label, s.app, s.data])).toEqual([
      [1, undefined, 'NoOp', 'a, b'],
      [2, 'dial', 'Dial', 'PJSIP/${EXTEN}@trunk,60'],
      [3, undefined, 'Hangup', ''],
    ]);
    expect(ctx.extensions[1].steps.map((s) => [s.priority, s.app, s.data])).toEqual([
      [1, 'Answer', ''],
      [2, 'Wait', '3'],
    ]);
    expect(ctx.switches).toEqual([{ module: 'Realtime', data: 'ctx@extensions', line: 9 }]);
    expect(ctx.includes).toEqual(['other']);
  });

  it('reads the shipped dial plan', () => {
    const plan = parseDialplan(shipped('extensions.conf'));
    expect(plan.errors).toEqual([]);
    expect([...plan.contexts.keys()]).toEqual(['rc-outbound', 'from-pstn', 'rc-unrouted']);
    const outbound = plan.contexts.get('rc-outbound')!.extensions.find((e) => e.pattern === '_X.')!;
    expect(outbound.steps.map((s) => s.app)).toEqual(['NoOp', 'Set', 'MixMonitor', 'Dial', 'Hangup']);
    expect(plan.contexts.get('from-pstn')!.switches[0].data).toBe('from-pstn@extensions');
    expect(plan.directives.map((d) => d.kind)).toEqual(['exec']);
  });

  it('rejects a same => with nothing before it and a line without an application', () => {
    const plan = parseDialplan('[c]\nsame => n,NoOp()\nexten => 1,1\n');
    expect(plan.errors.map((e) => e.line)).toEqual([2, 3]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryLogger } from '../log';
import { EmptyRealtimeRepository, ExtensionRow } from '../realtime/repository';
import { Dialplan, virtualKey } from './dialplan';

/** Realtime rows and endpoint contexts held in memory. */
class Rows extends EmptyRealtimeRepository {
  rows: ExtensionRow[] = [];
  contexts: string[] = [];
  override async extensionRowsAt(context: string, priority: number): Promise<ExtensionRow[]> {
    return this.rows.filter((r) => r.context === context && r.priority === priority);
  }
  override async accountContexts(): Promise<string[]> {
    return this.contexts;
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'dialplan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plan(text: string, rows = new Rows()) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, text);
  const log = memoryLogger();
  return { dialplan: new Dialplan({ file, realtime: rows, log }), rows, log };
}

const row = (context: string, exten: string, priority: number, app: string, appdata = ''): ExtensionRow => ({ context, exten, priority, app, appdata });

describe('Dialplan', () => {
  it('looks in the context, then its switches, then its includes (depth first)', async () => {
    const { dialplan, rows } = plan(
      [
        '[globals]',
        'TRUNK = trunk',
        '[top]',
        'exten => 100,1,NoOp(own)',
        'switch => Realtime/top@extensions',
        'include => first',
        'include => second',
        '[first]',
        'include => deep',
        '[deep]',
        'exten => _3XX,1,NoOp(deep)',
        '[second]',
        'exten => _3XX,1,NoOp(second)',
        'exten => _X.,1,NoOp(any)',
      ].join('\n'),
    );
    rows.rows.push(row('top', '100', 1, 'NoOp', 'row'), row('top', '200', 1, 'Dial', 'PJSIP/u,30'), row('top', '_4XX', 1, 'NoOp', 'pattern row'));
    expect(await dialplan.load()).toEqual([['TRUNK', 'trunk']]);
    expect(await dialplan.find('top', '100', 1)).toEqual({ app: 'NoOp', data: 'own' });
    expect(await dialplan.find('top', '200', 1)).toEqual({ app: 'Dial', data: 'PJSIP/u,30', realtime: true });
    expect(await dialplan.find('top', '400', 1)).toEqual({ app: 'NoOp', data: 'pattern row', realtime: true });
    expect(await dialplan.find('top', '300', 1)).toEqual({ app: 'NoOp', data: 'deep' });
    expect(await dialplan.find('top', '5000', 1)).toEqual({ app: 'NoOp', data: 'any' });
    expect(await dialplan.find('top', '5000', 2)).toBeUndefined();
    expect(await dialplan.exists('nowhere', '100')).toBe(false);
  });

  it('re-reads the realtime rows at every step', async () => {
    const { dialplan, rows } = plan('[a]\nswitch => Realtime/a@extensions\n');
    await dialplan.load();
    expect(await dialplan.find('a', '101', 2)).toBeUndefined();
    rows.rows.push(row('a', '101', 2, 'VoiceMail', '101@a,u'));
    expect(await dialplan.find('a', '101', 2)).toEqual({ app: 'VoiceMail', data: '101@a,u', realtime: true });
  });

  it('generates the account contexts of ringcloud-contexts.sh at load, and only then', async () => {
    const { dialplan, rows } = plan(
      ['[rc-outbound]', 'exten => _X.,1,NoOp(out ${EXTEN})', '#exec /etc/asterisk/ringcloud-contexts.sh'].join('\n'),
    );
    rows.contexts = ['acct-7', 'agents-rt', 'acct-0'];
    rows.rows.push(row('acct-7', '101', 1, 'Dial', 'PJSIP/u7,30'), row('acct-8', '201', 1, 'Dial', 'PJSIP/u8,30'));
    await dialplan.load();
    expect(dialplan.contextNames().sort()).toEqual(['acct-7', 'rc-outbound']);
    expect(await dialplan.find('acct-7', '101', 1)).toEqual({ app: 'Dial', data: 'PJSIP/u7,30', realtime: true });
    expect(await dialplan.find('acct-7', '79101234567', 1)).toEqual({ app: 'NoOp', data: 'out ${EXTEN}' });
    rows.contexts.push('acct-8');
    expect(await dialplan.exists('acct-8', '201')).toBe(false);
    await dialplan.load(); // dialplan reload
    expect(await dialplan.exists('acct-8', '201')).toBe(true);
  });

  it('lets a channel carry its own rows for a switch (the deprecated inbound form)', async () => {
    const { dialplan } = plan('[from-pstn]\nswitch => Realtime/from-pstn@extensions\n');
    await dialplan.load();
    const ch = { virtualRows: new Map([[virtualKey('from-pstn', '102'), [{ app: 'Goto', data: 'acct-7,102,1' }]]]) };
    expect(await dialplan.find('from-pstn', '102', 1, ch)).toEqual({ app: 'Goto', data: 'acct-7,102,1', realtime: true });
    expect(await dialplan.find('from-pstn', '102', 1)).toBeUndefined();
  });

  it('finds a priority the realtime switch lacks in the includes: the shipped rc-outbound takes over an extension without its Hangup()', async () => {
    const rows = new Rows();
    rows.contexts = ['acct-7'];
    const dialplan = new Dialplan({ file: path.resolve(__dirname, '../../../../docker/asterisk/extensions.conf'), realtime: rows, log: memoryLogger() });
    rows.rows.push(row('acct-7', '101', 1, 'Dial', 'PJSIP/u1,30'), row('acct-7', '102', 1, 'Dial', 'PJSIP/u2,30'), row('acct-7', '102', 2, 'Hangup'));
    await dialplan.load();
    // As pbx.c does (own extensions, switches, then includes, per priority): the Dial's next step is rc-outbound's.
    expect(await dialplan.find('acct-7', '101', 2)).toEqual({ app: 'Set', data: 'CDR(userfield)=${CONTEXT}' });
    expect(await dialplan.find('acct-7', '101', 4)).toEqual({ app: 'Dial', data: 'PJSIP/${EXTEN}@${TRUNK},60,f(<${IF($["${RC_CALLER_NUMBER}" = ""]?${CALLERID(num)}:${RC_CALLER_NUMBER})}>)' });
    expect(await dialplan.find('acct-7', '102', 2)).toEqual({ app: 'Hangup', data: '', realtime: true });
  });

  it('follows #include and reports what it does not run', async () => {
    writeFileSync(path.join(dir, 'extra.conf'), '[extra]\nexten => 1,1,NoOp(included)\n');
    const { dialplan, log } = plan('#include "extra.conf"\n#exec /usr/local/bin/other.sh\n[main]\ninclude => extra\n');
    await dialplan.load();
    expect(await dialplan.find('main', '1', 1)).toEqual({ app: 'NoOp', data: 'included' });
    expect(log.lines).toEqual([expect.stringMatching(/#exec \/usr\/local\/bin\/other\.sh is not run by the simulator/)]);
  });

  it('loads the shipped dial plan and the recorded ones without a warning', async () => {
    for (const file of ['../../../../docker/asterisk/extensions.conf', '../../fixtures/ami/extensions-30-38.conf', '../../fixtures/ami/dialplan-used.conf']) {
      const log = memoryLogger();
      const dialplan = new Dialplan({ file: path.resolve(__dirname, file), realtime: new Rows(), log });
      await dialplan.load();
      expect({ file, warnings: log.lines }).toEqual({ file, warnings: [] });
    }
  });
});

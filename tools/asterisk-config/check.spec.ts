import path from 'node:path';
import { parseConf } from '@ringcloud/asterisk-conf';
import { checkFiles, loadFolder } from './check';

const SHIPPED = path.join(__dirname, '../../docker/asterisk');

/** The shipped files with one of them replaced. */
function withFile(name: string, text: string) {
  const files = loadFolder(SHIPPED);
  files[name] = { ...parseConf(text), text };
  return checkFiles(files).map((f) => `${f.file}: ${f.message}`);
}
const shipped = (name: string) => loadFolder(SHIPPED)[name].text;

describe('docker/asterisk as shipped', () => {
  it('has none of the problems a real Asterisk 22 showed', () => {
    expect(checkFiles(loadFolder(SHIPPED))).toEqual([]);
  });
});

describe('the check fails on what real Asterisk showed (the configuration of the second lab)', () => {
  it('realtime-only sorcery types: the trunk in pjsip.conf does not exist', () => {
    const problems = withFile('sorcery.conf', '[res_pjsip]\nendpoint = realtime,ps_endpoints\nauth = realtime,ps_auths\naor = realtime,ps_aors\n');
    expect(problems).toEqual([
      expect.stringMatching(/"endpoint" is mapped without "endpoint = config,pjsip.conf,criteria=type=endpoint" first.*\(trunk\)/),
      // pjsip.conf ships no auth object (the trunk's is commented out): nothing hidden there yet.
      expect.stringMatching(/"aor" is mapped without.*\(trunk\)/),
    ]);
  });

  it('config listed after realtime is as bad as none', () => {
    const problems = withFile('sorcery.conf', '[res_pjsip]\nendpoint = realtime,ps_endpoints\nendpoint = config,pjsip.conf,criteria=type=endpoint\nauth = config,pjsip.conf,criteria=type=auth\nauth = realtime,ps_auths\naor = config,pjsip.conf,criteria=type=aor\naor = realtime,ps_aors\n');
    expect(problems).toEqual([expect.stringMatching(/"endpoint" is mapped without/)]);
  });

  it('a module left loading without the module it requires (res_pjsip_phoneprov_provider without res_phoneprov)', () => {
    // The second lab's modules.conf: autoload with res_phoneprov left out.
    const problems = withFile('modules.conf', '[modules]\nautoload = yes\npreload => res_config_pgsql.so\nnoload => chan_iax2.so\nnoload => res_phoneprov.so\n');
    expect(problems).toEqual(['modules.conf: res_pjsip_phoneprov_provider loads but requires res_phoneprov, which does not: "noload => res_pjsip_phoneprov_provider.so" too, or load res_phoneprov']);
  });

  it('an explicit list that misses a module another one requires', () => {
    const problems = withFile('modules.conf', shipped('modules.conf').replace('load => res_pjsip_pubsub.so\n', ''));
    expect(problems).toEqual([
      expect.stringMatching(/^modules.conf: chan_pjsip loads but requires res_pjsip_pubsub/),
      expect.stringMatching(/^modules.conf: res_pjsip_refer loads but requires res_pjsip_pubsub/),
      expect.stringMatching(/^modules.conf: res_pjsip_mwi loads but requires res_pjsip_pubsub/),
      expect.stringMatching(/^modules.conf: res_pjsip_mwi_body_generator loads but requires res_pjsip_pubsub/),
    ]);
  });

  it('a misspelt module', () => {
    expect(withFile('modules.conf', shipped('modules.conf').replace('load => app_dial.so', 'load => app_dail.so'))).toEqual([
      'modules.conf: app_dail.so: no such module in Asterisk 22',
      'modules.conf: app_dial is not loaded, but Dial in rc-outbound needs it',
    ]);
  });

  it('a module the configuration uses but does not load (voicemail would fail quietly at the first unanswered call)', () => {
    expect(withFile('modules.conf', shipped('modules.conf').replace(/^load => app_voicemail\.so.*$/m, ''))).toEqual([
      "modules.conf: app_voicemail is not loaded, but VoiceMail in the adapter's realtime rows needs it",
    ]);
    expect(withFile('modules.conf', shipped('modules.conf').replace(/^load => func_logic\.so.*$/m, ''))).toEqual([
      "modules.conf: func_logic is not loaded, but IF() in rc-outbound needs it",
    ]);
  });

  it('no logger.conf (a real 22.10.1 logged an ERROR at every start)', () => {
    const files = loadFolder(SHIPPED);
    delete files['logger.conf'];
    expect(checkFiles(files).map((f) => `${f.file}: ${f.message}`)).toEqual([expect.stringMatching(/^logger\.conf: missing: .*Errors detected in logger\.conf/)]);
  });

  it('#exec without execincludes (no account context would ever exist)', () => {
    expect(withFile('asterisk.conf', '[options]\nverbose = 3\n')).toEqual([
      'asterisk.conf: extensions.conf generates the account contexts with #exec, which needs "execincludes = yes" in [options]',
    ]);
  });

  it('contexts used but not defined, and a trunk context that cannot route numbers', () => {
    const problems = withFile(
      'extensions.conf',
      shipped('extensions.conf')
        .replace('include => rc-unrouted', 'include => rc-nowhere')
        .replace('switch => Realtime/from-pstn@extensions', ''),
    );
    expect(problems).toEqual([
      'extensions.conf: context "rc-nowhere" (included by from-pstn) is not defined in extensions.conf',
      'extensions.conf: context "from-pstn" has no "switch => Realtime/from-pstn@extensions": inbound numbers would never be routed',
    ]);
    expect(withFile('pjsip.conf', shipped('pjsip.conf').replace('context = from-pstn', 'context = from-trunk'))).toEqual([
      'pjsip.conf: context "from-trunk" (endpoint trunk) is not defined in extensions.conf',
      "pjsip.conf: endpoint trunk (TRUNK) has context from-trunk, not from-pstn: the adapter's inbound number routes would never be reached",
    ]);
  });

  it('a TRUNK that names no pjsip.conf endpoint, none at all, or a trunk whose calls do not arrive in the inbound context', () => {
    expect(withFile('extensions.conf', shipped('extensions.conf').replace('TRUNK = trunk', 'TRUNK = provider'))).toEqual([
      'extensions.conf: TRUNK = provider names no endpoint in pjsip.conf: every outside call would fail',
    ]);
    expect(withFile('extensions.conf', shipped('extensions.conf').replace(/^TRUNK = trunk$/m, ''))).toEqual([
      "extensions.conf: the dial plan uses ${TRUNK}, but [globals] does not set TRUNK (the trunk's endpoint in pjsip.conf)",
    ]);
    const elsewhere = shipped('pjsip.conf').replace('context = from-pstn', 'context = rc-unrouted');
    expect(withFile('pjsip.conf', elsewhere)).toEqual([
      "pjsip.conf: endpoint trunk (TRUNK) has context rc-unrouted, not from-pstn: the adapter's inbound number routes would never be reached",
    ]);
  });

  it('realtime families not mapped in extconfig.conf, or mapped to a connection that does not exist', () => {
    const problems = withFile('extconfig.conf', shipped('extconfig.conf').replace(/^voicemail => .*$/m, '').replace('ps_aors => pgsql,general', 'ps_aors => pgsql,other'));
    expect(problems).toEqual([
      'extconfig.conf: family "ps_aors" names connection "other", which res_pgsql.conf does not define',
      'extconfig.conf: realtime family "voicemail" (written by the telephony-adapter) is not mapped in [settings]',
    ]);
  });

  it('an AMI user without the classes the adapter needs (ContactStatus is a system event)', () => {
    const problems = withFile('manager.conf', shipped('manager.conf').replace('read = system,call,cdr,dialplan,agent,reporting', 'read = call,cdr,dialplan'));
    expect(problems).toEqual(['manager.conf: [crm] read lacks system']);
  });
});

import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ConfFile, ConfSection, parseConf, parseDialplan, value, values } from '@ringcloud/asterisk-conf';
import modules from './asterisk-22-modules.json';

/**
 * Checks an Asterisk configuration folder (docker/asterisk) for what a real Asterisk 22 showed
 * going wrong with RingCloud's files, before anybody starts one: realtime-only sorcery types that
 * hide pjsip.conf's objects (the trunk), modules left loading without a module they require,
 * contexts used but never defined, realtime families not mapped in extconfig.conf, an AMI user
 * without the classes the telephony-adapter needs, and a TRUNK that is not the trunk's endpoint.
 */

export interface Finding {
  file: string;
  line?: number;
  message: string;
}

/** What the telephony-adapter relies on in the PBX's configuration. */
export interface AdapterExpectations {
  /** AMI user (AMI_USERNAME). */
  amiUser: string;
  /** The trunk's context, where the adapter writes inbound number routes (INBOUND_CONTEXT). */
  inboundContext: string;
  /** Contexts the adapter's rows and Originates name, generated at dial-plan load by #exec. */
  generatedContext: RegExp;
  /** Realtime families the adapter writes rows for. */
  families: string[];
  /** Dial-plan applications and functions in the realtime rows the adapter writes (extensions, inbound routes). */
  applications: string[];
  functions: string[];
}

export const ADAPTER: AdapterExpectations = {
  amiUser: 'crm',
  inboundContext: 'from-pstn',
  generatedContext: /^acct-[1-9][0-9]*$/,
  families: ['ps_endpoints', 'ps_auths', 'ps_aors', 'extensions', 'voicemail'],
  applications: ['Dial', 'VoiceMail', 'Hangup', 'Set', 'MixMonitor', 'Goto'],
  functions: ['IF', 'CDR'],
};

/**
 * AMI classes the adapter needs. Events: ContactStatus, FullyBooted (system); channels, dials,
 * bridges, OriginateResponse, DeviceStateChange (call); Cdr (cdr); Newexten, VarSet (dialplan).
 * Actions: PJSIPShowContacts, CoreShowChannels, MixMonitor after a transfer (system); Getvar (call);
 * Originate (originate);
 * `dialplan reload` (command).
 */
const AMI_READ = ['system', 'call', 'cdr', 'dialplan'];
const AMI_WRITE = ['system', 'call', 'originate', 'command'];

type Files = Record<string, ConfFile & { text: string }>;

const FILES = ['asterisk.conf', 'sorcery.conf', 'pjsip.conf', 'modules.conf', 'extensions.conf', 'extconfig.conf', 'res_pgsql.conf', 'manager.conf', 'logger.conf'];

/** Why a missing file matters, where "missing" alone would not say it. */
const MISSING: Record<string, string> = {
  'logger.conf': 'missing: Asterisk 22 logs "ERROR ... Errors detected in logger.conf" at every start and logs to the console only',
};

export function loadFolder(dir: string): Files {
  const files: Files = {};
  for (const name of FILES) {
    const full = path.join(dir, name);
    if (!existsSync(full)) continue;
    const text = readFileSync(full, 'utf8');
    files[name] = { ...parseConf(text), text };
  }
  return files;
}

export function checkFolder(dir: string, adapter: AdapterExpectations = ADAPTER): Finding[] {
  return checkFiles(loadFolder(dir), adapter);
}

export function checkFiles(files: Files, adapter: AdapterExpectations = ADAPTER): Finding[] {
  const findings: Finding[] = [];
  for (const name of FILES) {
    const file = files[name];
    if (!file) findings.push({ file: name, message: MISSING[name] ?? 'missing' });
    else for (const e of file.errors) findings.push({ file: name, line: e.line, message: e.message });
  }
  if (findings.length > 0) return findings;
  return [
    ...checkSorcery(files),
    ...checkModules(files),
    ...checkModulesUsed(files, adapter),
    ...checkContexts(files, adapter),
    ...checkFamilies(files, adapter),
    ...checkManager(files, adapter),
    ...checkTrunk(files, adapter),
  ];
}

const section = (file: ConfFile, name: string): ConfSection | undefined => file.sections.find((s) => s.name === name);

/** Every pjsip.conf object type mapped in sorcery.conf must be read from pjsip.conf before realtime. */
export function checkSorcery(files: Files): Finding[] {
  const findings: Finding[] = [];
  const pjsipTypes = new Map<string, string[]>();
  for (const s of files['pjsip.conf'].sections) {
    const type = value(s, 'type');
    if (type && !s.template) pjsipTypes.set(type, [...(pjsipTypes.get(type) ?? []), s.name]);
  }
  const mappings = section(files['sorcery.conf'], 'res_pjsip')?.entries ?? [];
  for (const type of new Set(mappings.map((e) => e.key))) {
    const objects = pjsipTypes.get(type);
    if (!objects) continue;
    const ofType = mappings.filter((e) => e.key === type);
    const fromConfig = ofType.findIndex((e) => /^config\s*,\s*pjsip\.conf\s*,\s*criteria\s*=\s*type\s*=\s*(\S+)$/.test(e.value) && e.value.endsWith(`=${type}`));
    const firstOther = ofType.findIndex((e) => !/^config\s*,/.test(e.value));
    if (fromConfig < 0 || (firstOther >= 0 && firstOther < fromConfig)) {
      findings.push({
        file: 'sorcery.conf',
        line: ofType[0].line,
        message: `"${type}" is mapped without "${type} = config,pjsip.conf,criteria=type=${type}" first: pjsip.conf's ${type} objects (${objects.join(', ')}) would not exist`,
      });
    }
  }
  return findings;
}

const moduleName = (v: string) => v.trim().replace(/\.so$/, '');
const REQUIRES: Record<string, string[]> = modules.requires;
const APPLICATION_MODULE: Record<string, string> = Object.fromEntries(Object.entries(modules.applications).map(([k, v]) => [k.toLowerCase(), v]));
const FUNCTION_MODULE: Record<string, string> = modules.functions;

/** The modules modules.conf loads (autoload: every module Asterisk has but the noload ones). */
function loadedModules(files: Files): Set<string> {
  const s = section(files['modules.conf'], 'modules');
  const autoload = /^(yes|true|on|1)$/i.test(value(s, 'autoload') ?? 'no');
  const noload = new Set(values(s, 'noload').map(moduleName));
  const listed = ['load', 'preload', 'require', 'preload-require'].flatMap((k) => values(s, k)).map(moduleName);
  return new Set(autoload ? Object.keys(REQUIRES).filter((m) => !noload.has(m)) : listed);
}

/** A module that loads must not require a module that does not (Asterisk: "missing dependency"). */
export function checkModules(files: Files): Finding[] {
  const findings: Finding[] = [];
  const s = section(files['modules.conf'], 'modules');
  if (!s) return [{ file: 'modules.conf', message: 'no [modules] section' }];
  const listed = ['load', 'preload', 'require', 'preload-require'].flatMap((k) => s.entries.filter((e) => e.key.toLowerCase() === k));
  for (const e of [...listed, ...s.entries.filter((x) => x.key.toLowerCase() === 'noload')]) {
    if (!(moduleName(e.value) in REQUIRES)) findings.push({ file: 'modules.conf', line: e.line, message: `${e.value}: no such module in Asterisk 22` });
  }
  const loads = loadedModules(files);
  for (const m of loads) {
    for (const dep of REQUIRES[m] ?? []) {
      if (dep in REQUIRES && !loads.has(dep)) {
        const line = listed.find((e) => moduleName(e.value) === m)?.line ?? s.entries.find((e) => moduleName(e.value) === dep)?.line;
        findings.push({ file: 'modules.conf', line, message: `${m} loads but requires ${dep}, which does not: "noload => ${m}.so" too, or load ${dep}` });
      }
    }
  }
  return findings;
}

/**
 * Every module the configuration relies on is loaded: the dial plan's applications and functions
 * (and those of the adapter's realtime rows), realtime drivers, sorcery back ends, the channel
 * driver, CDRs on AMI. An explicit module list makes a forgotten app_voicemail fail quietly at the
 * first call; this makes it fail here.
 */
export function checkModulesUsed(files: Files, adapter: AdapterExpectations): Finding[] {
  const loaded = loadedModules(files);
  const needed = new Map<string, string>();
  const need = (module: string | undefined, why: string) => {
    if (module && module !== 'core' && !needed.has(module)) needed.set(module, why);
  };
  const plan = parseDialplan(files['extensions.conf'].text);
  need('pbx_config', 'extensions.conf');
  const functionsIn = (text: string) => [...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)\(/g)].map((m) => m[1]);
  for (const ctx of plan.contexts.values()) {
    for (const sw of ctx.switches) if (sw.module.toLowerCase() === 'realtime') need('pbx_realtime', `switch in ${ctx.name}`);
    for (const ext of ctx.extensions) {
      for (const step of ext.steps) {
        need(APPLICATION_MODULE[step.app.toLowerCase()], `${step.app} in ${ctx.name}`);
        for (const fn of functionsIn(step.data)) need(FUNCTION_MODULE[fn], `${fn}() in ${ctx.name}`);
      }
    }
  }
  for (const app of adapter.applications) need(APPLICATION_MODULE[app.toLowerCase()], `${app} in the adapter's realtime rows`);
  for (const fn of adapter.functions) need(FUNCTION_MODULE[fn], `${fn}() in the adapter's realtime rows`);
  const mappings = section(files['sorcery.conf'], 'res_pjsip')?.entries ?? [];
  if (mappings.some((e) => /^realtime\s*,/.test(e.value))) need('res_sorcery_realtime', 'sorcery.conf realtime mappings');
  if (mappings.some((e) => /^config\s*,/.test(e.value))) need('res_sorcery_config', 'sorcery.conf config mappings');
  if ((section(files['extconfig.conf'], 'settings')?.entries ?? []).some((e) => e.value.startsWith('pgsql'))) need('res_config_pgsql', 'extconfig.conf');
  if (files['pjsip.conf'].sections.some((x) => value(x, 'type') === 'endpoint')) need('chan_pjsip', 'pjsip.conf endpoints');
  need('cdr_manager', 'the adapter reads Cdr events');
  return [...needed]
    .filter(([module]) => !loaded.has(module))
    .map(([module, why]) => ({ file: 'modules.conf', message: `${module} is not loaded, but ${why} needs it` }));
}

/** Contexts named by endpoints, includes and literal Goto targets exist; the adapter's routes are reachable. */
export function checkContexts(files: Files, adapter: AdapterExpectations): Finding[] {
  const findings: Finding[] = [];
  const plan = parseDialplan(files['extensions.conf'].text);
  const generates = plan.directives.some((d) => d.kind === 'exec');
  const defined = (name: string) => plan.contexts.has(name) || (generates && adapter.generatedContext.test(name));
  const need = (name: string, file: string, line: number | undefined, why: string) => {
    if (!name.includes('${') && !defined(name)) findings.push({ file, line, message: `context "${name}" (${why}) is not defined in extensions.conf` });
  };
  for (const s of files['pjsip.conf'].sections) {
    if (value(s, 'type') !== 'endpoint') continue;
    const ctx = s.entries.find((e) => e.key === 'context');
    if (ctx) need(ctx.value, 'pjsip.conf', ctx.line, `endpoint ${s.name}`);
  }
  for (const ctx of plan.contexts.values()) {
    for (const inc of ctx.includes) need(inc, 'extensions.conf', undefined, `included by ${ctx.name}`);
    for (const ext of ctx.extensions) {
      for (const step of ext.steps) {
        const target = gotoContext(step.app, step.data);
        if (target) need(target, 'extensions.conf', step.line, `${step.app} in ${ctx.name}`);
      }
    }
  }
  if (generates && !/^(yes|true|on|1)$/i.test(value(section(files['asterisk.conf'], 'options'), 'execincludes') ?? 'no')) {
    findings.push({ file: 'asterisk.conf', message: 'extensions.conf generates the account contexts with #exec, which needs "execincludes = yes" in [options]' });
  }
  const inbound = plan.contexts.get(adapter.inboundContext);
  if (!inbound) findings.push({ file: 'extensions.conf', message: `context "${adapter.inboundContext}" (the trunk's calls and the adapter's inbound routes) is not defined` });
  else if (!inbound.switches.some((sw) => sw.module.toLowerCase() === 'realtime' && sw.data.split('@')[0] === adapter.inboundContext)) {
    findings.push({ file: 'extensions.conf', message: `context "${adapter.inboundContext}" has no "switch => Realtime/${adapter.inboundContext}@extensions": inbound numbers would never be routed` });
  }
  return findings;
}

/**
 * The global `TRUNK` names the trunk's endpoint in pjsip.conf, whose calls arrive in the inbound
 * context: rc-outbound dials `PJSIP/<number>@${TRUNK}` (an endpoint that does not exist fails every
 * outside call, "endpoint … was not found"), and its guard tells the PSTN's own channel by
 * `CHANNEL(endpoint)` = `${TRUNK}` (fixture 54): named wrongly, a call from the PSTN reaching an
 * extension without rows would be dialled back out.
 */
export function checkTrunk(files: Files, adapter: AdapterExpectations): Finding[] {
  const plan = parseDialplan(files['extensions.conf'].text);
  const usesTrunk = [...plan.contexts.values()].some((c) => c.extensions.some((e) => e.steps.some((step) => step.data.includes('${TRUNK}'))));
  if (!usesTrunk) return [];
  const trunk = plan.globals.TRUNK;
  if (!trunk) return [{ file: 'extensions.conf', message: 'the dial plan uses ${TRUNK}, but [globals] does not set TRUNK (the trunk\'s endpoint in pjsip.conf)' }];
  const endpoint = files['pjsip.conf'].sections.find((s) => s.name === trunk && value(s, 'type') === 'endpoint');
  if (!endpoint) return [{ file: 'extensions.conf', message: `TRUNK = ${trunk} names no endpoint in pjsip.conf: every outside call would fail` }];
  const context = value(endpoint, 'context');
  if (context !== adapter.inboundContext) {
    return [{ file: 'pjsip.conf', message: `endpoint ${trunk} (TRUNK) has context ${context ?? '(none)'}, not ${adapter.inboundContext}: the adapter's inbound number routes would never be reached` }];
  }
  return [];
}

/** `Goto(ctx,exten,prio)`, `Gosub(ctx,exten,prio(...))`: the literal context of a three-part target. */
function gotoContext(app: string, data: string): string | undefined {
  const a = app.toLowerCase();
  let target = data;
  if (a === 'gotoif') target = data.split('?')[1]?.split(':')[0] ?? '';
  else if (a !== 'goto' && a !== 'gosub') return undefined;
  const parts = target.split('(')[0].split(',');
  return parts.length === 3 ? parts[0].trim() : undefined;
}

/** Every realtime family that is used is mapped in extconfig.conf to a res_pgsql.conf connection. */
export function checkFamilies(files: Files, adapter: AdapterExpectations): Finding[] {
  const findings: Finding[] = [];
  const settings = section(files['extconfig.conf'], 'settings');
  const mapped = new Map((settings?.entries ?? []).map((e) => [e.key, e]));
  const used = new Map<string, string>();
  for (const e of section(files['sorcery.conf'], 'res_pjsip')?.entries ?? []) {
    const m = /^realtime\s*,\s*(\S+)$/.exec(e.value);
    if (m) used.set(m[1], `sorcery.conf ${e.key}`);
  }
  for (const ctx of parseDialplan(files['extensions.conf'].text).contexts.values()) {
    for (const sw of ctx.switches) if (sw.module.toLowerCase() === 'realtime') used.set(sw.data.split('@')[1] || 'extensions', `switch in ${ctx.name}`);
  }
  for (const f of adapter.families) if (!used.has(f)) used.set(f, 'written by the telephony-adapter');
  const connections = new Set(files['res_pgsql.conf'].sections.map((s) => s.name));
  for (const [family, why] of used) {
    const entry = mapped.get(family);
    if (!entry) {
      findings.push({ file: 'extconfig.conf', message: `realtime family "${family}" (${why}) is not mapped in [settings]` });
      continue;
    }
    const [driver, connection] = entry.value.split(',').map((x) => x.trim());
    if (driver !== 'pgsql') findings.push({ file: 'extconfig.conf', line: entry.line, message: `family "${family}" uses driver "${driver}", not pgsql` });
    else if (!connections.has(connection)) findings.push({ file: 'extconfig.conf', line: entry.line, message: `family "${family}" names connection "${connection}", which res_pgsql.conf does not define` });
  }
  return findings;
}

/** The adapter's AMI user exists with the read and write classes it needs. */
export function checkManager(files: Files, adapter: AdapterExpectations): Finding[] {
  const user = section(files['manager.conf'], adapter.amiUser);
  if (!user) return [{ file: 'manager.conf', message: `no [${adapter.amiUser}] user (AMI_USERNAME)` }];
  const classes = (key: string) => new Set(values(user, key).flatMap((v) => v.split(',').map((c) => c.trim().toLowerCase())));
  const findings: Finding[] = [];
  for (const [key, needed] of [['read', AMI_READ], ['write', AMI_WRITE]] as const) {
    const has = classes(key);
    const missing = has.has('all') ? [] : needed.filter((c) => !has.has(c));
    if (missing.length > 0) findings.push({ file: 'manager.conf', line: user.line, message: `[${adapter.amiUser}] ${key} lacks ${missing.join(', ')}` });
  }
  return findings;
}

/** `node -r ./tools/register.cjs tools/asterisk-config/check.ts [dir]` — exit 1 on findings. */
if (require.main === module) {
  const dir = process.argv[2] ?? path.join(__dirname, '../../docker/asterisk');
  const findings = checkFolder(dir);
  for (const f of findings) console.log(`${f.file}${f.line ? `:${f.line}` : ''}: ${f.message}`);
  console.log(findings.length === 0 ? `${dir}: no problems found` : `${dir}: ${findings.length} problem(s)`);
  process.exitCode = findings.length === 0 ? 0 : 1;
}

import { ConfFile, parseConf } from './conf';

/** One priority of an extension: the application and its argument text (not yet substituted). */
export interface DialplanStep {
  priority: number;
  label?: string;
  app: string;
  data: string;
  line: number;
}

export interface DialplanExtension {
  /** `_X.`-style pattern or a literal extension. */
  pattern: string;
  steps: DialplanStep[];
}

export interface DialplanContext {
  name: string;
  extensions: DialplanExtension[];
  /** `include => ctx`, in order. */
  includes: string[];
  /** `switch => Realtime/ctx@family`, as `{ module: 'Realtime', data: 'ctx@family' }`. */
  switches: Array<{ module: string; data: string; line: number }>;
}

export interface Dialplan {
  contexts: Map<string, DialplanContext>;
  globals: Record<string, string>;
  /** `#exec`/`#include` lines (they add contexts at load time; the caller decides how). */
  directives: ConfFile['directives'];
  errors: Array<{ line: number; message: string }>;
}

const SPECIAL = new Set(['general', 'globals']);

/** extensions.conf → contexts (pbx_config's reading: `n` priorities, `same =>`, labels). */
export function parseDialplan(text: string): Dialplan {
  const conf = parseConf(text);
  const plan: Dialplan = { contexts: new Map(), globals: {}, directives: conf.directives, errors: [...conf.errors] };
  for (const section of conf.sections) {
    if (section.name === 'globals') {
      for (const e of section.entries) plan.globals[e.key] = e.value;
      continue;
    }
    if (SPECIAL.has(section.name)) continue;
    const context = plan.contexts.get(section.name) ?? { name: section.name, extensions: [], includes: [], switches: [] };
    plan.contexts.set(section.name, context);
    let last: { ext: DialplanExtension; priority: number } | undefined;
    for (const e of section.entries) {
      const key = e.key.toLowerCase();
      if (key === 'include') context.includes.push(e.value.split('|')[0].split(',')[0].trim());
      else if (key === 'switch' || key === 'eswitch' || key === 'lswitch') {
        const slash = e.value.indexOf('/');
        if (slash <= 0) plan.errors.push({ line: e.line, message: `switch without a module: ${e.value}` });
        else context.switches.push({ module: e.value.slice(0, slash).trim(), data: e.value.slice(slash + 1).trim(), line: e.line });
      } else if (key === 'exten' || key === 'same') {
        const parsed = parseExtenLine(e.value, key === 'same');
        if ('error' in parsed) {
          plan.errors.push({ line: e.line, message: parsed.error });
          continue;
        }
        let ext: DialplanExtension | undefined;
        if (key === 'same') {
          if (!last) {
            plan.errors.push({ line: e.line, message: 'same => without a preceding exten =>' });
            continue;
          }
          ext = last.ext;
        } else {
          ext = context.extensions.find((x) => x.pattern === parsed.pattern);
          if (!ext) {
            ext = { pattern: parsed.pattern, steps: [] };
            context.extensions.push(ext);
          }
        }
        if (parsed.priority === 'hint') continue;
        const previous = last && last.ext === ext ? last.priority : (ext.steps.at(-1)?.priority ?? 0);
        const priority = parsed.priority === 'n' ? previous + 1 : parsed.priority;
        ext.steps.push({ priority, label: parsed.label, app: parsed.app, data: parsed.data, line: e.line });
        ext.steps.sort((a, b) => a.priority - b.priority);
        last = { ext, priority };
      }
    }
  }
  return plan;
}

type ParsedExten = { pattern: string; priority: number | 'n' | 'hint'; label?: string; app: string; data: string } | { error: string };

/** `_X.,1(label),App(data)` (exten) or `n(label),App(data)` (same). */
function parseExtenLine(value: string, same: boolean): ParsedExten {
  let rest = value;
  let pattern = '';
  if (!same) {
    const comma = rest.indexOf(',');
    if (comma < 0) return { error: `exten without a priority: ${value}` };
    pattern = rest.slice(0, comma).trim().split('/')[0];
    rest = rest.slice(comma + 1);
  }
  const comma = rest.indexOf(',');
  if (comma < 0) return { error: `extension line without an application: ${value}` };
  const prio = rest.slice(0, comma).trim();
  const app = rest.slice(comma + 1).trim();
  const m = /^(\d+|n|hint)(?:\(([^)]+)\))?$/i.exec(prio);
  if (!m) return { error: `bad priority "${prio}"` };
  const priority = /^\d+$/.test(m[1]) ? Number(m[1]) : (m[1].toLowerCase() as 'n' | 'hint');
  const call = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([\s\S]*)\))?$/.exec(app);
  if (call) return { pattern, priority, label: m[2], app: call[1], data: call[2] ?? '' };
  // Old style `App,arg1,arg2`.
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s*,(.*)$/.exec(app);
  if (legacy) return { pattern, priority, label: m[2], app: legacy[1], data: legacy[2] };
  if (priority === 'hint') return { pattern, priority, app: 'hint', data: app };
  return { error: `bad application "${app}"` };
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DialplanContext, parseDialplan } from '@ringcloud/asterisk-conf';
import type { Logger } from '../log';
import type { RealtimeRepository } from '../realtime/repository';
import { bestMatch, matches } from './pattern';

/** One priority of an extension: an application and its (not yet substituted) argument. */
export interface Step {
  app: string;
  data: string;
  /** Read from a realtime `extensions` row by pbx_realtime (not extensions.conf). */
  realtime?: boolean;
}

/** Rows a channel carries for itself in a realtime family (the deprecated `to_user` inbound call). */
export type VirtualRows = Map<string, Step[]>;

export const virtualKey = (context: string, exten: string) => `${context}\u0000${exten}`;

/** What a channel looking up a step can offer the realtime switch. */
export interface LookupChannel {
  virtualRows?: VirtualRows;
}

/** The script extensions.conf runs through `#exec` to generate one context per account. */
const CONTEXTS_SCRIPT = 'ringcloud-contexts.sh';
/** ringcloud-contexts.sh: `SELECT DISTINCT context FROM ps_endpoints WHERE context ~ '^acct-[1-9][0-9]{0,9}$'`. */
export const ACCOUNT_CONTEXT = /^acct-[1-9][0-9]{0,9}$/;

export interface DialplanOptions {
  /** extensions.conf to load (its `#include`s are read relative to it). */
  file: string;
  realtime: RealtimeRepository;
  log: Logger;
}

/**
 * The dial plan as pbx_config loads extensions.conf: contexts with their extensions, switches
 * and includes, `[globals]`, and what `#exec ringcloud-contexts.sh` would print (one
 * `[acct-N]` per account with endpoints: `switch => Realtime/acct-N@extensions`,
 * `include => rc-outbound`) — computed from ps_endpoints at load and at every `dialplan reload`,
 * exactly when Asterisk runs the script. A step is looked up per priority, as Asterisk does:
 * the context's own extensions first, then its switches (the realtime `extensions` rows, re-read
 * each time), then its includes, depth first.
 */
export class Dialplan {
  private contexts = new Map<string, DialplanContext>();
  private globalVars: Record<string, string> = {};

  constructor(private readonly options: DialplanOptions) {}

  get globals(): Readonly<Record<string, string>> {
    return this.globalVars;
  }

  get file(): string {
    return this.options.file;
  }

  /** (Re)reads the file and regenerates the account contexts; returns the globals in file order. */
  async load(): Promise<[string, string][]> {
    const contexts = new Map<string, DialplanContext>();
    const globals: [string, string][] = [];
    await this.loadFile(this.options.file, contexts, globals, 0);
    this.contexts = contexts;
    this.globalVars = Object.fromEntries(globals);
    return globals;
  }

  private async loadFile(file: string, contexts: Map<string, DialplanContext>, globals: [string, string][], depth: number): Promise<void> {
    const plan = parseDialplan(await readFile(file, 'utf8'));
    for (const e of plan.errors) this.options.log.warn(`${file}:${e.line}: ${e.message}`);
    for (const [k, v] of Object.entries(plan.globals)) globals.push([k, v]);
    for (const ctx of plan.contexts.values()) merge(contexts, ctx);
    for (const d of plan.directives) {
      if (d.kind === 'exec' && path.basename(d.argument.split(/\s+/)[0]) === CONTEXTS_SCRIPT) {
        for (const name of (await this.options.realtime.accountContexts()).filter((c) => ACCOUNT_CONTEXT.test(c)).sort()) {
          merge(contexts, { name, extensions: [], includes: ['rc-outbound'], switches: [{ module: 'Realtime', data: `${name}@extensions`, line: d.line }] });
        }
      } else if ((d.kind === 'include' || d.kind === 'tryinclude') && depth < 8) {
        const target = path.resolve(path.dirname(file), d.argument);
        await this.loadFile(target, contexts, globals, depth + 1).catch((err: Error) => {
          if (d.kind === 'include') this.options.log.warn(`${file}:${d.line}: #include ${d.argument}: ${err.message}`);
        });
      } else this.options.log.warn(`${file}:${d.line}: #${d.kind} ${d.argument} is not run by the simulator`);
    }
  }

  /** Contexts as loaded (Asterisk knows no context the file or the last reload did not define). */
  hasContext(context: string): boolean {
    return this.contexts.has(context);
  }

  contextNames(): string[] {
    return [...this.contexts.keys()];
  }

  /** The step at context/exten/priority, or undefined when the dial plan has none. */
  async find(context: string, exten: string, priority: number, ch?: LookupChannel): Promise<Step | undefined> {
    return this.search(context, exten, priority, new Set(), ch);
  }

  /** `exists(context, exten, 1)`: whether a call can start there. */
  async exists(context: string, exten: string, ch?: LookupChannel): Promise<boolean> {
    return (await this.find(context, exten, 1, ch)) !== undefined;
  }

  private async search(name: string, exten: string, priority: number, seen: Set<string>, ch?: LookupChannel): Promise<Step | undefined> {
    if (seen.has(name)) return undefined;
    seen.add(name);
    const ctx = this.contexts.get(name);
    if (!ctx) return undefined;
    const candidates = ctx.extensions.filter((e) => matches(e.pattern, exten));
    while (candidates.length > 0) {
      const best = bestMatch(candidates, exten)!;
      const step = best.steps.find((s) => s.priority === priority);
      if (step) return { app: step.app, data: step.data };
      candidates.splice(candidates.indexOf(best), 1);
    }
    for (const sw of ctx.switches) {
      if (sw.module.toLowerCase() !== 'realtime') continue;
      const step = await this.realtimeSwitch(sw.data, exten, priority, ch);
      if (step) return step;
    }
    for (const include of ctx.includes) {
      const step = await this.search(include, exten, priority, seen, ch);
      if (step) return step;
    }
    return undefined;
  }

  /**
   * pbx_realtime: `Realtime/<context>@<family>` reads the row (context, exten, priority), or the
   * first `_pattern` row of that priority that matches. The family is the table's name here
   * (extconfig.conf maps `extensions` to table `extensions`).
   */
  private async realtimeSwitch(data: string, exten: string, priority: number, ch?: LookupChannel): Promise<Step | undefined> {
    const [where] = data.split('/');
    const [context, family = 'extensions'] = where.split('@');
    const own = ch?.virtualRows?.get(virtualKey(context, exten));
    if (own) return own[priority - 1] && { ...own[priority - 1], realtime: true };
    if (family !== 'extensions') return undefined;
    const rows = await this.options.realtime.extensionRowsAt(context, priority);
    const row = rows.find((r) => r.exten === exten) ?? rows.find((r) => r.exten.startsWith('_') && matches(r.exten, exten));
    return row ? { app: row.app, data: row.appdata, realtime: true } : undefined;
  }
}

function merge(contexts: Map<string, DialplanContext>, ctx: DialplanContext): void {
  const existing = contexts.get(ctx.name);
  if (!existing) {
    contexts.set(ctx.name, { name: ctx.name, extensions: [...ctx.extensions], includes: [...ctx.includes], switches: [...ctx.switches] });
    return;
  }
  existing.extensions.push(...ctx.extensions);
  existing.includes.push(...ctx.includes);
  existing.switches.push(...ctx.switches);
}

/** Queues the dial plan's Queue() can use (queues.conf is not read: only the first lab's was known). */
export interface QueueDef {
  members: { interface: string; name: string }[];
}

/** The first lab's queue (fixtures 00–22: DeviceStateList and QueueMemberStatus show it). */
export const FIXTURE_QUEUES: Record<string, QueueDef> = {
  support: { members: [{ interface: 'Local/100@agents', name: 'Agent 100' }] },
};

import { ConfSection, parseConf, value } from '@ringcloud/asterisk-conf';
import type { EndpointRow, Row } from './repository';

/**
 * The static PJSIP objects of pjsip.conf (sorcery.conf maps every type to `config` first, then to
 * realtime: a config object wins over a realtime row of the same id). Only what the simulator
 * uses: endpoints (the trunk), their AORs (a permanent `contact` makes the endpoint reachable
 * without registering) and the transport.
 */
export interface PjsipConfig {
  endpoints: Map<string, EndpointRow>;
  aors: Map<string, Row>;
  /** Errors of the file (reported by the caller). */
  errors: Array<{ line: number; message: string }>;
}

export const EMPTY_PJSIP: PjsipConfig = { endpoints: new Map(), aors: new Map(), errors: [] };

/** A section's options as a row with Asterisk's column names (templates resolved). */
function rowOf(section: ConfSection, byName: Map<string, ConfSection[]>): Row {
  const row: Row = {};
  for (const parent of section.inherits) for (const tpl of byName.get(parent) ?? []) Object.assign(row, rowOf(tpl, byName));
  for (const e of section.entries) row[e.key.trim().toLowerCase()] = e.value;
  row.id = section.name;
  return row;
}

export function parsePjsipConf(text: string): PjsipConfig {
  const conf = parseConf(text);
  const byName = new Map<string, ConfSection[]>();
  for (const s of conf.sections) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const endpoints = new Map<string, EndpointRow>();
  const aors = new Map<string, Row>();
  for (const s of conf.sections) {
    if (s.template) continue;
    const type = value(s, 'type');
    const row = rowOf(s, byName);
    if (type === 'endpoint') {
      const str = (k: string) => (row[k] === undefined ? null : String(row[k]));
      endpoints.set(s.name, {
        id: s.name,
        context: str('context'),
        aors: str('aors'),
        auth: str('auth'),
        callerid: str('callerid'),
        mailboxes: str('mailboxes'),
        accountcode: str('accountcode'),
        transport: str('transport'),
        allow: str('allow'),
        setVar: str('set_var'),
        raw: row,
        fromConfig: true,
      });
    } else if (type === 'aor') aors.set(s.name, row);
  }
  return { endpoints, aors, errors: conf.errors };
}

/** The permanent contact URI of a config AOR (`contact = sip:host:port`), if it has one. */
export function permanentContact(aor: Row | undefined): string | undefined {
  const c = aor?.contact;
  return typeof c === 'string' && c.trim() !== '' ? c.split(',')[0].trim() : undefined;
}

/**
 * Asterisk's configuration file syntax (main/config.c), the part RingCloud's files use: sections
 * `[name]` with template markers `[name](!)` / `[name](tpl,…)`, `key = value` and `key => value`
 * entries (order and repeats kept: `exten`, `load`, `permit` repeat), `;` comments (`\;` is a
 * literal semicolon), `;-- … --;` block comments, and `#include` / `#exec` directives (recorded,
 * not followed: the caller decides what they mean).
 */

export interface ConfEntry {
  key: string;
  value: string;
  /** `=>` rather than `=` (Asterisk treats them alike; dial plans use `=>`). */
  arrow: boolean;
  line: number;
}

export interface ConfSection {
  name: string;
  /** `[name](!)`: a template, never an object itself. */
  template: boolean;
  /** Templates this section inherits from (`[name](tpl1,tpl2)`). */
  inherits: string[];
  entries: ConfEntry[];
  line: number;
}

export interface ConfDirective {
  kind: 'include' | 'exec' | 'tryinclude';
  argument: string;
  line: number;
  /** The section it appeared in, if any. */
  section?: string;
}

export interface ConfFile {
  sections: ConfSection[];
  directives: ConfDirective[];
  /** Lines that are none of the above, with what was wrong. */
  errors: Array<{ line: number; message: string }>;
}

export function parseConf(text: string): ConfFile {
  const out: ConfFile = { sections: [], directives: [], errors: [] };
  let current: ConfSection | undefined;
  let inBlockComment = false;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    let content = raw;
    if (inBlockComment) {
      const end = content.indexOf('--;');
      if (end < 0) return;
      content = content.slice(end + 3);
      inBlockComment = false;
    }
    const block = content.indexOf(';--');
    if (block >= 0) {
      const end = content.indexOf('--;', block + 3);
      if (end < 0) {
        inBlockComment = true;
        content = content.slice(0, block);
      } else {
        content = content.slice(0, block) + content.slice(end + 3);
      }
    }
    content = stripComment(content).trim();
    if (content === '') return;

    const directive = /^#(include|tryinclude|exec)\s+(.+)$/.exec(content);
    if (directive) {
      out.directives.push({ kind: directive[1] as ConfDirective['kind'], argument: directive[2].trim().replace(/^"(.*)"$/, '$1'), line, section: current?.name });
      return;
    }
    const header = /^\[([^\]]+)\]\s*(?:\(([^)]*)\))?$/.exec(content);
    if (header) {
      const options = (header[2] ?? '').split(',').map((o) => o.trim()).filter(Boolean);
      current = { name: header[1].trim(), template: options.includes('!'), inherits: options.filter((o) => o !== '!' && o !== '+'), entries: [], line };
      out.sections.push(current);
      return;
    }
    const entry = /^([^=]+?)\s*(=>|=)\s*(.*)$/.exec(content);
    if (!entry) {
      out.errors.push({ line, message: `not a section, entry or directive: ${content}` });
      return;
    }
    if (!current) {
      out.errors.push({ line, message: `entry outside any section: ${entry[1]}` });
      return;
    }
    current.entries.push({ key: entry[1].trim(), value: entry[3].trim().replace(/\\;/g, ';'), arrow: entry[2] === '=>', line });
  });
  return out;
}

/** Cuts a `;` comment; `\;` stays (unescaped later). */
function stripComment(line: string): string {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === ';' && (i === 0 || line[i - 1] !== '\\')) return line.slice(0, i);
  }
  return line;
}

/** Every value of `key` in `section` (case-insensitive key), in file order. */
export function values(section: ConfSection | undefined, key: string): string[] {
  if (!section) return [];
  const k = key.toLowerCase();
  return section.entries.filter((e) => e.key.toLowerCase() === k).map((e) => e.value);
}

/** The last value of `key` (Asterisk's "last one wins" for single-valued options). */
export function value(section: ConfSection | undefined, key: string): string | undefined {
  const all = values(section, key);
  return all.length ? all[all.length - 1] : undefined;
}

export function sectionsNamed(conf: ConfFile, name: string): ConfSection[] {
  return conf.sections.filter((s) => s.name === name);
}

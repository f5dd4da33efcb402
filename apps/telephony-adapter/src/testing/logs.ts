/** A logger for tests that keeps every line as "<level> <message>", to assert what was said. */
export class Logs {
  lines: string[] = [];
  log = (m: string) => this.lines.push(`log ${m}`);
  warn = (m: string) => this.lines.push(`warn ${m}`);
  error = (m: string) => this.lines.push(`error ${m}`);
  debug = (m: string) => this.lines.push(`debug ${m}`);
}

import { Pool } from 'pg';
import type { Logger } from '../log';

/**
 * Read-only access to Asterisk's realtime tables (owned by the telephony-adapter's schema), with
 * Asterisk's table and column names. Rows are read whole (`SELECT *`) and optional columns are
 * taken when present, so an extra or missing optional column does not break the simulator.
 */

export type Row = Record<string, unknown>;

export interface EndpointRow {
  id: string;
  context: string | null;
  aors: string | null;
  auth: string | null;
  callerid: string | null;
  mailboxes: string | null;
  accountcode: string | null;
  transport: string | null;
  allow: string | null;
  /** `set_var` (`NAME=value`): a variable set on every channel of the endpoint. */
  setVar: string | null;
  raw: Row;
  /** A pjsip.conf object rather than a realtime row (the trunk). */
  fromConfig?: boolean;
}

export interface ExtensionRow {
  context: string;
  exten: string;
  priority: number;
  app: string;
  appdata: string;
}

export interface MailboxRow {
  context: string;
  mailbox: string;
  password: string;
  email: string | null;
  attach: string | null;
}

export interface RealtimeRepository {
  findEndpoint(id: string): Promise<EndpointRow | undefined>;
  listEndpoints(): Promise<EndpointRow[]>;
  /** Every endpoint id, or undefined when the table could not be read (not the same as none). */
  endpointIds(): Promise<string[] | undefined>;
  /** Every endpoint, or undefined when the table could not be read. */
  listEndpointsOrUndefined(): Promise<EndpointRow[] | undefined>;
  findAuth(id: string): Promise<Row | undefined>;
  findAor(id: string): Promise<Row | undefined>;
  /** Rows of one extension, by priority. */
  extensionRows(context: string, exten: string): Promise<ExtensionRow[]>;
  /** Every row of one priority in a context (the realtime switch: exact exten, then `_patterns`). */
  extensionRowsAt(context: string, priority: number): Promise<ExtensionRow[]>;
  /** Contexts of ps_endpoints (what ringcloud-contexts.sh selects, before its filter). */
  accountContexts(): Promise<string[]>;
  /** app_voicemail's realtime mailbox (table `voicemail`). */
  findMailbox(context: string, mailbox: string): Promise<MailboxRow | undefined>;
  /** The extension (exten) whose row dials `PJSIP/<user>` in `context`. */
  extensionOf(context: string, user: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toEndpoint(r: Row): EndpointRow {
  return {
    id: String(r.id),
    context: text(r.context),
    aors: text(r.aors),
    auth: text(r.auth),
    callerid: text(r.callerid),
    mailboxes: text(r.mailboxes),
    accountcode: text(r.accountcode),
    transport: text(r.transport),
    allow: text(r.allow),
    setVar: text(r.set_var),
    raw: r,
  };
}

const toExtension = (r: Row): ExtensionRow => ({ context: String(r.context), exten: String(r.exten), priority: Number(r.priority), app: String(r.app), appdata: String(r.appdata ?? '') });

/** `postgresql://…/db?schema=telephony` → a pg connection string and the schema name. */
export function parseDatabaseUrl(url: string): { connectionString: string; schema: string } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? 'public';
  u.searchParams.delete('schema');
  return { connectionString: u.toString(), schema };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export class PgRealtimeRepository implements RealtimeRepository {
  private readonly pool: Pool;
  private readonly schema: string;
  /** Each distinct failure is reported once: a missing schema must not flood the log. */
  private readonly reported = new Set<string>();
  private failing = false;
  private closed = false;

  constructor(
    databaseUrl: string,
    private readonly log: Logger,
  ) {
    const { connectionString, schema } = parseDatabaseUrl(databaseUrl);
    this.schema = quoteIdent(schema);
    this.pool = new Pool({ connectionString, max: 4, connectionTimeoutMillis: 2000, idleTimeoutMillis: 10_000 });
    // An idle client losing its connection must not crash the process.
    this.pool.on('error', (err) => this.log.debug(`realtime database connection error: ${err.message}`));
  }

  private table(name: string): string {
    return `${this.schema}.${quoteIdent(name)}`;
  }

  /**
   * Runs a query; when the database or the tables are missing it logs one warning and answers
   * "nothing there", so the simulator keeps running the dial plan without realtime rows.
   */
  private async query(sql: string, params: unknown[]): Promise<Row[]> {
    return (await this.tryQuery(sql, params)) ?? [];
  }

  private async tryQuery(sql: string, params: unknown[]): Promise<Row[] | undefined> {
    if (this.closed) return undefined;
    try {
      const res = await this.pool.query(sql, params);
      this.failing = false;
      return res.rows as Row[];
    } catch (err) {
      this.failing = true;
      const message = (err as Error).message;
      if (!this.reported.has(message)) {
        this.reported.add(message);
        this.log.warn(`realtime tables unavailable (${message}); serving the dial plan without realtime rows`);
      }
      return undefined;
    }
  }

  /** Checks once at start so a missing schema is reported early (one warning). */
  async probe(): Promise<boolean> {
    await this.query(`SELECT 1 FROM ${this.table('ps_endpoints')} LIMIT 1`, []);
    return !this.failing;
  }

  async findEndpoint(id: string): Promise<EndpointRow | undefined> {
    const rows = await this.query(`SELECT * FROM ${this.table('ps_endpoints')} WHERE id = $1`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : undefined;
  }

  async listEndpoints(): Promise<EndpointRow[]> {
    return (await this.query(`SELECT * FROM ${this.table('ps_endpoints')} ORDER BY id LIMIT 10000`, [])).map(toEndpoint);
  }

  async listEndpointsOrUndefined(): Promise<EndpointRow[] | undefined> {
    return (await this.tryQuery(`SELECT * FROM ${this.table('ps_endpoints')} ORDER BY id LIMIT 10000`, []))?.map(toEndpoint);
  }

  async endpointIds(): Promise<string[] | undefined> {
    return (await this.tryQuery(`SELECT id FROM ${this.table('ps_endpoints')}`, []))?.map((r) => String(r.id));
  }

  async findAuth(id: string): Promise<Row | undefined> {
    return (await this.query(`SELECT * FROM ${this.table('ps_auths')} WHERE id = $1`, [id]))[0];
  }

  async findAor(id: string): Promise<Row | undefined> {
    return (await this.query(`SELECT * FROM ${this.table('ps_aors')} WHERE id = $1`, [id]))[0];
  }

  async extensionRows(context: string, exten: string): Promise<ExtensionRow[]> {
    const rows = await this.query(
      `SELECT context, exten, priority, app, appdata FROM ${this.table('extensions')} WHERE context = $1 AND exten = $2 ORDER BY priority`,
      [context, exten],
    );
    return rows.map(toExtension);
  }

  async extensionRowsAt(context: string, priority: number): Promise<ExtensionRow[]> {
    const rows = await this.query(
      `SELECT context, exten, priority, app, appdata FROM ${this.table('extensions')} WHERE context = $1 AND priority = $2 ORDER BY exten`,
      [context, priority],
    );
    return rows.map(toExtension);
  }

  async accountContexts(): Promise<string[]> {
    const rows = await this.query(`SELECT DISTINCT context FROM ${this.table('ps_endpoints')} WHERE context IS NOT NULL ORDER BY 1`, []);
    return rows.map((r) => String(r.context));
  }

  async findMailbox(context: string, mailbox: string): Promise<MailboxRow | undefined> {
    const rows = await this.query(`SELECT * FROM ${this.table('voicemail')} WHERE context = $1 AND mailbox = $2`, [context, mailbox]);
    const r = rows[0];
    return r ? { context: String(r.context), mailbox: String(r.mailbox), password: String(r.password ?? ''), email: text(r.email), attach: text(r.attach) } : undefined;
  }

  async extensionOf(context: string, user: string): Promise<string | undefined> {
    const rows = await this.query(
      `SELECT exten FROM ${this.table('extensions')} WHERE context = $1 AND lower(app) = 'dial' AND (appdata = $2 OR appdata LIKE $3) ORDER BY priority LIMIT 1`,
      [context, `PJSIP/${user}`, `PJSIP/${user},%`],
    );
    return rows[0] ? String(rows[0].exten) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** The repository used when no database is configured: nothing is provisioned. */
export class EmptyRealtimeRepository implements RealtimeRepository {
  async findEndpoint(): Promise<undefined> {
    return undefined;
  }
  async listEndpoints(): Promise<EndpointRow[]> {
    return [];
  }
  async endpointIds(): Promise<string[]> {
    return [];
  }
  async listEndpointsOrUndefined(): Promise<EndpointRow[]> {
    return [];
  }
  async findAuth(): Promise<undefined> {
    return undefined;
  }
  async findAor(): Promise<undefined> {
    return undefined;
  }
  async extensionRows(): Promise<ExtensionRow[]> {
    return [];
  }
  async extensionRowsAt(_context: string, _priority: number): Promise<ExtensionRow[]> {
    return [];
  }
  async accountContexts(): Promise<string[]> {
    return [];
  }
  async findMailbox(): Promise<undefined> {
    return undefined;
  }
  async extensionOf(): Promise<undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}

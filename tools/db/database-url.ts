// Prisma-style database URLs (postgresql://…/ringcloud?schema=users) and what `pg` needs from them.
// One database, one PostgreSQL schema per service: the schema comes from the URL's `schema` parameter.

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ringcloud';

/** Where one service's tables live. `url` may hold a password: never log it. */
export interface ServiceDatabase {
  service: string;
  url: string;
  database: string;
  schema: string;
}

/** users-service → users, telephony-adapter → telephony: the default schema and the prefix of the per-service env var. */
export function serviceBaseName(service: string): string {
  return service.replace(/-(service|adapter)$/, '');
}

/** users-service → USERS_DATABASE_URL. */
export function serviceUrlEnvName(service: string): string {
  return `${serviceBaseName(service).toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL`;
}

/** The service's own URL when given, else the shared base URL; schema defaults to the service's base name. */
export function resolveServiceDatabase(service: string, baseUrl: string, serviceUrl?: string): ServiceDatabase {
  const url = parseUrl(serviceUrl ?? baseUrl, serviceUrl ? serviceUrlEnvName(service) : 'the database URL');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`${service}: the database URL names no database (expected postgresql://host:port/<database>)`);
  const schema = url.searchParams.get('schema') || serviceBaseName(service);
  return { service, url: url.toString(), database, schema };
}

/** A connection string `pg` understands: Prisma's `schema` parameter removed, optionally another database. */
export function pgConnectionString(url: string, database?: string): string {
  const parsed = parseUrl(url, 'the database URL');
  parsed.searchParams.delete('schema');
  if (database !== undefined) parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Host, port and database without credentials, for log lines and error messages. */
export function describeTarget(target: ServiceDatabase): string {
  const url = new URL(target.url);
  return `${url.host}/${target.database} schema "${target.schema}"`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function parseUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The raw value may contain a password: do not echo it.
    throw new Error(`${what} is not a valid URL`);
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error(`${what} must start with postgresql:// (got ${url.protocol}//)`);
  }
  return url;
}

import { Client } from 'pg';

/**
 * Another session locks `table` for `ms`: what a slow migration or a stuck transaction does to a
 * service, whose statements on it wait meanwhile. `databaseUrl` may carry Prisma's `?schema=` (a
 * service's test schema): the table is looked up there. Resolves once the lock is taken; `released`
 * settles when it is let go.
 */
export async function holdTable(databaseUrl: string, table: string, ms: number): Promise<{ released: Promise<void> }> {
  if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(table)) throw new Error(`holdTable: not a plain table name: ${table}`);
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query('BEGIN');
    if (schema) await client.query(`SET LOCAL search_path TO "${schema.replace(/"/g, '""')}"`);
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  } catch (err) {
    await client.end();
    throw err;
  }
  const released = new Promise((resolve) => setTimeout(resolve, ms))
    .then(() => client.query('COMMIT'))
    .then(() => undefined)
    .finally(() => client.end());
  return { released };
}

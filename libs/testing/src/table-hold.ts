/** What `holdTable` needs of a Prisma client (any service's). */
interface Transactional {
  $transaction<T>(work: (tx: { $executeRawUnsafe(sql: string): Promise<number> }) => Promise<T>, options?: { timeout?: number }): Promise<T>;
}

/**
 * Another session locks `table` (of the client's schema) for `ms`: what a slow migration or a stuck
 * transaction does to a service, whose statements on it wait meanwhile. Resolves once the lock is
 * taken; `released` settles when it is let go.
 */
export async function holdTable(db: Transactional, table: string, ms: number): Promise<{ released: Promise<void> }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`holdTable: not a plain table name: ${table}`);
  let taken!: () => void;
  const locked = new Promise<void>((resolve) => (taken = resolve));
  const released = db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      taken();
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    { timeout: ms + 10_000 },
  );
  await Promise.race([locked, released]);
  return { released };
}

/** The part of a Prisma transaction client a lock needs (every service's generated client has it). */
export interface RawExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/**
 * A transaction-scoped lock on `name` in the current schema, held until the transaction ends: two
 * deployments sharing one database (one schema each) never wait for each other's locks.
 */
export async function lockByName(tx: RawExecutor, name: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext(${name}))`;
}

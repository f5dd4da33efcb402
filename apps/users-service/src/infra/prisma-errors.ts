/**
 * Prisma error codes this service reacts to. With driver adapters the violated constraint is
 * reported under meta.driverAdapterError.cause.constraint ({index} or {fields}); older engines
 * put it in meta.target. Both are read.
 */
interface KnownError {
  code?: string;
  meta?: {
    target?: string | string[];
    driverAdapterError?: { cause?: { constraint?: { index?: string; fields?: string[] } } };
  };
}

/** The names (index name and/or column names) of the unique constraint an error violated, or null. */
export function uniqueViolation(err: unknown): string[] | null {
  const e = err as KnownError;
  if (e?.code !== 'P2002') return null;
  const constraint = e.meta?.driverAdapterError?.cause?.constraint;
  const target = e.meta?.target;
  return [
    ...(constraint?.index ? [constraint.index] : []),
    ...(constraint?.fields ?? []),
    ...(typeof target === 'string' ? [target] : (target ?? [])),
  ];
}

/** Whether the unique violation was on a constraint whose name or columns mention `column`. */
export function isUniqueViolationOn(err: unknown, column: string): boolean {
  return uniqueViolation(err)?.some((name) => name.replace(/"/g, '').split(/[_,\s]+/).includes(column) || name === column) ?? false;
}

export const isForeignKeyViolation = (err: unknown) => (err as KnownError)?.code === 'P2003';
export { isRecordNotFound } from '@ringcloud/nest-prisma';

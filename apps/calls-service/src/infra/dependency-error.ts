import { Logger } from '@nestjs/common';
import { DomainError, ErrorCode } from '@ringcloud/contracts-common';

/**
 * What to answer when another service failed us. Its typed errors pass through; its internal
 * errors (a bug over there) become UNAVAILABLE here, so a client never sees a 500 for them.
 */
export function dependencyError(err: unknown, dependency: string, logger: Logger): DomainError {
  if (err instanceof DomainError && err.code !== ErrorCode.Internal) return err;
  logger.error(`${dependency} failed: ${err instanceof Error ? err.message : String(err)}`);
  return DomainError.unavailable(`${dependency} is unavailable`);
}

import { CallHandler, ExecutionContext, Logger, NestInterceptor } from '@nestjs/common';
import { Observable, catchError, throwError } from 'rxjs';
import { DomainError } from '@ringcloud/contracts-common';
import { isDatabaseUnavailable, isUnstorableText } from './prisma-errors';

export const UNSTORABLE_TEXT_MESSAGE = 'the request contains characters that cannot be stored (such as NUL)';

/**
 * A database outage is UNAVAILABLE for the caller (the gateway answers 503 with Retry-After),
 * not INTERNAL: nothing is wrong with the request. Register it with useValue: each service
 * names its database and may classify outages more broadly.
 *
 * It is also the services' one safety net for text the database cannot store (a NUL that got past
 * validation): BAD_REQUEST (a 400), since the request is wrong, not the service.
 */
export class DatabaseUnavailableInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly unavailableMessage: string,
    private readonly isUnavailable: (err: unknown) => boolean = isDatabaseUnavailable,
  ) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((err) => {
        if (isUnstorableText(err)) return throwError(() => DomainError.badRequest(UNSTORABLE_TEXT_MESSAGE));
        if (!this.isUnavailable(err)) return throwError(() => err);
        this.logger.warn(`database unavailable (${(err as { code?: string }).code ?? 'unknown'})`);
        return throwError(() => DomainError.unavailable(this.unavailableMessage));
      }),
    );
  }
}

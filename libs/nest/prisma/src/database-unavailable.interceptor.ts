import { CallHandler, ExecutionContext, Logger, NestInterceptor } from '@nestjs/common';
import { Observable, catchError, throwError } from 'rxjs';
import { DomainError } from '@ringcloud/contracts-common';
import { isDatabaseUnavailable } from './prisma-errors';

/**
 * A database outage is UNAVAILABLE for the caller (the gateway answers 503 with Retry-After),
 * not INTERNAL: nothing is wrong with the request. Register it with useValue: each service
 * names its database and may classify outages more broadly.
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
        if (!this.isUnavailable(err)) return throwError(() => err);
        this.logger.warn(`database unavailable (${(err as { code?: string }).code ?? 'unknown'})`);
        return throwError(() => DomainError.unavailable(this.unavailableMessage));
      }),
    );
  }
}

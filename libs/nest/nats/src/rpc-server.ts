import {
  ArgumentsHost,
  Catch,
  Logger,
  PipeTransform,
  RpcExceptionFilter,
  UsePipes,
  applyDecorators,
} from '@nestjs/common';
import { BaseRpcContext, MessagePattern } from '@nestjs/microservices';
import { Observable, throwError } from 'rxjs';
import { z } from 'zod';
import { CommandContract, DomainError, ErrorCode, ErrorData, firstIssueMessage } from '@ringcloud/contracts-common';

/** Validates an incoming message against its contract again: services never trust the sender. */
export class ContractPipe implements PipeTransform {
  constructor(private readonly schema: z.ZodType) {}
  transform(value: unknown) {
    // Nest runs a handler's pipes on each of its arguments: an `@Ctx()` is not the payload.
    if (value instanceof BaseRpcContext) return value;
    const result = this.schema.safeParse(value);
    if (!result.success) throw DomainError.badRequest(firstIssueMessage(result.error));
    return result.data;
  }
}

/** `@Command(UsersUserGet.contract)`: the handler for one contract's subject, its payload validated. */
export const Command = (contract: CommandContract<z.ZodType, z.ZodType>) =>
  applyDecorators(MessagePattern(contract.subject), UsePipes(new ContractPipe(contract.request)));

/**
 * Turns any exception into `{code, message}` for the caller. Expected failures keep their code;
 * anything else is logged here and answered as INTERNAL without its details.
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    let data: ErrorData;
    if (exception instanceof DomainError) data = exception.toData();
    else {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      data = { code: ErrorCode.Internal, message: 'internal error' };
    }
    return throwError(() => data);
  }
}

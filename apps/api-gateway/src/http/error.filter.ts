import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { writeError } from './error-answer';

/** Every error answer of the gateway goes through here (see toErrorAnswer for the mapping). */
@Catch()
export class GatewayErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    writeError(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), exception);
  }
}

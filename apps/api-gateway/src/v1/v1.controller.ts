import { All, Controller, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { success } from '../http/envelope';
import { FileAnswer, sendFile } from '../http/file-answer';
import { V1Pipeline } from './v1.pipeline';

/**
 * Every /v1 URL and method lands here: the route table (routes.ts) decides, so that unknown URLs
 * (404), wrong methods (405 + Allow) and raw `/` in channel names follow one rule set.
 */
@Controller()
export class V1Controller {
  constructor(private readonly pipeline: V1Pipeline) {}

  @All(['v1', 'v1/*'])
  async handle(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const data = await this.pipeline.run(request, reply);
    if (data instanceof FileAnswer) return sendFile(request, reply, data);
    reply.status(200).send(success(data));
  }
}

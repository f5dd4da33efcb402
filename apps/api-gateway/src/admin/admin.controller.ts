import { All, Controller, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { success } from '../http/envelope';
import { AdminPipeline } from './admin.pipeline';

@Controller()
export class AdminController {
  constructor(private readonly pipeline: AdminPipeline) {}

  @All(['admin/v1', 'admin/v1/*'])
  async handle(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const data = await this.pipeline.run(request);
    reply.status(200).send(success(data));
  }
}

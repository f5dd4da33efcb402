import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { ByteRange } from '../recordings/recording-store';
import { HttpProblem } from './http-problem';

/**
 * A handler's answer that is a file, not an envelope (spec section 2): streamed with its real
 * Content-Type, Content-Length and Content-Disposition, `Range: bytes=` honoured (206).
 */
export class FileAnswer {
  constructor(
    readonly fileName: string,
    readonly contentType: string,
    readonly size: number,
    readonly open: (range?: ByteRange) => Promise<Readable>,
  ) {}
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; multi-range asks get the whole file. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || end < start) {
    throw new HttpProblem(416, 'Range not satisfiable', { 'Content-Range': `bytes */${size}` });
  }
  return { start, end };
}

export async function sendFile(request: FastifyRequest, reply: FastifyReply, file: FileAnswer): Promise<void> {
  const range = parseRange(request.headers.range, file.size);
  const stream = await file.open(range);
  reply
    .header('Content-Type', file.contentType)
    .header('Content-Disposition', `attachment; filename="${file.fileName.replace(/["\\\r\n]/g, '_')}"`)
    .header('Accept-Ranges', 'bytes');
  if (range) {
    reply
      .status(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`)
      .header('Content-Length', String(range.end - range.start + 1));
  } else {
    reply.status(200).header('Content-Length', String(file.size));
  }
  await reply.send(stream);
}

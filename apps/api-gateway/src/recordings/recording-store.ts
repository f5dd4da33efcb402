import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Readable, Transform } from 'node:stream';
import { Objm, ObjectStore } from '@nats-io/obj';
import { RECORDINGS_BUCKET } from '@ringcloud/contracts-telephony';
import { connectNats, NatsConnection } from '@ringcloud/nest-nats';
import { GatewayConfig } from '../config';
import { HttpProblem } from '../http/http-problem';
import { GATEWAY_CONFIG } from '../tokens';

/** A byte range already checked against the object's size (inclusive ends, like HTTP). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Reads recordings from the JetStream object store the telephony adapter writes them to. The
 * gateway streams them straight to the client: a file never travels over request/reply.
 */
@Injectable()
export class RecordingStore implements OnApplicationShutdown {
  private readonly logger = new Logger(RecordingStore.name);
  private connecting: Promise<ObjectStore> | undefined;
  private nc: NatsConnection | undefined;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  /** The object's bytes (or `range` of them) as a Node stream; 404 when it is not there. */
  async open(objectName: string, range?: ByteRange): Promise<Readable> {
    const bucket = await this.bucket();
    const result = await bucket.get(objectName).catch((err) => {
      this.logger.warn(`recording ${objectName}: ${(err as Error).message}`);
      throw HttpProblem.unavailable();
    });
    if (!result) throw HttpProblem.notFound('Recording not found');
    const stream = Readable.fromWeb(result.data as any);
    return range ? stream.pipe(sliceBytes(range)) : stream;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nc?.close().catch(() => undefined);
  }

  private bucket(): Promise<ObjectStore> {
    this.connecting ??= (async () => {
      this.nc = await connectNats(this.config.NATS_URL, 'api-gateway-recordings');
      return new Objm(this.nc).open(RECORDINGS_BUCKET);
    })().catch((err) => {
      this.connecting = undefined;
      this.logger.warn(`recordings store unavailable: ${(err as Error).message}`);
      throw (err as Error).message?.includes('not found') ? HttpProblem.notFound('Recording not found') : HttpProblem.unavailable();
    });
    return this.connecting;
  }
}

/** Passes on only bytes start..end (inclusive) of what flows through it. */
function sliceBytes({ start, end }: ByteRange) {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(start - offset, 0);
      const to = Math.min(end + 1 - offset, chunk.length);
      offset += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

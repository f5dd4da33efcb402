import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ClientNats, NatsRecordBuilder } from '@nestjs/microservices';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { firstValueFrom, timeout } from 'rxjs';
import { z } from 'zod';
import { CommandContract, DomainError, ErrorCode, EventContract, isErrorData } from '@ringcloud/contracts-common';
import { Metrics, REQUEST_ID_HEADER, currentRequestId } from '@ringcloud/nest-observability';
import { DEADLINE_HEADER, deadlineAfter } from './deadline';

export const NATS_OPTIONS = Symbol('NATS_OPTIONS');
export interface NatsOptions {
  servers: string;
  requestTimeoutMs: number;
  /** Client name shown by the NATS server (monitoring). */
  name: string;
}

/**
 * Typed request/reply over NATS: `send(UsersUserGet.contract, req)`. Every failure becomes a
 * DomainError: the service's own `{code, message}`, or UNAVAILABLE when nobody answers in time.
 */
@Injectable()
export class RpcClient implements OnApplicationShutdown {
  private readonly client: ClientNats;

  constructor(@Inject(NATS_OPTIONS) private readonly options: NatsOptions) {
    this.client = new ClientNats({
      servers: options.servers,
      name: options.name,
      // Keep retrying forever: a NATS restart must not take the process down.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    } as any);
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async send<Req extends z.ZodType, Res extends z.ZodType>(
    contract: CommandContract<Req, Res>,
    request: z.input<Req>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<z.output<Res>> {
    const started = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await firstValueFrom(this.client.send(contract.subject, withHeaders(request, timeoutMs)).pipe(timeout(timeoutMs)));
    } catch (err) {
      const error = toDomainError(err, contract.subject);
      outcome = error instanceof MessagingUnavailableError ? 'unavailable' : error.code;
      if ((err as Error)?.name === 'TimeoutError') Metrics.natsRequestTimeouts().inc({ subject: contract.subject });
      throw error;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      Metrics.natsRequestDuration().observe({ subject: contract.subject, outcome }, seconds);
    }
  }

  /** Fire-and-forget broadcast on core NATS (no persistence). */
  async emit<Ev extends z.ZodType>(contract: EventContract<Ev>, payload: z.input<Ev>): Promise<void> {
    await firstValueFrom(this.client.emit(contract.subject, payload), { defaultValue: undefined });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

/**
 * The payload with its NATS headers: the deadline (the service drops the request once we stopped
 * waiting), and the current request id so the service logs it too.
 */
function withHeaders(payload: unknown, timeoutMs: number): unknown {
  const h = natsHeaders();
  h.set(DEADLINE_HEADER, deadlineAfter(timeoutMs));
  const id = currentRequestId();
  if (id) h.set(REQUEST_ID_HEADER, id);
  return new NatsRecordBuilder(payload).setHeaders(h).build();
}

/**
 * UNAVAILABLE raised by the transport itself (NATS down, nobody subscribed, no reply in time), as
 * opposed to a service that answered UNAVAILABLE: callers may show a generic text for these.
 */
export class MessagingUnavailableError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Unavailable, message);
    this.name = 'MessagingUnavailableError';
  }
}

function toDomainError(err: unknown, subject: string): DomainError {
  if (err instanceof DomainError) return err;
  if (isErrorData(err)) return new DomainError(err.code, err.message);
  const name = (err as Error)?.name;
  if (name === 'TimeoutError') return new MessagingUnavailableError(`service did not answer in time (${subject})`);
  return new MessagingUnavailableError(`messaging is unavailable (${subject})`);
}

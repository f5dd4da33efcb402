import { z } from 'zod';
import type { EventContract } from '@ringcloud/contracts-common';

/**
 * The payload of a core NATS broadcast, validated by its contract: a plain JSON payload, or the
 * `{"pattern","data"}` packet that Nest's ClientProxy.emit sends. undefined when unreadable.
 */
export function readBroadcast<Ev extends z.ZodType>(contract: EventContract<Ev>, data: Uint8Array): z.output<Ev> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  const payload = parsed !== null && typeof parsed === 'object' && 'pattern' in parsed && 'data' in parsed ? parsed.data : parsed;
  const result = contract.event.safeParse(payload);
  return result.success ? result.data : undefined;
}

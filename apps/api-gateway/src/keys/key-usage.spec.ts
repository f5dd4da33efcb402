import Redis from 'ioredis';
import { loadGatewayConfig } from '../config';
import { TEST_REDIS_URL, dropRedisPrefix, testRedisPrefix } from '../testing/gateway';
import { KeyUsage } from './key-usage';

describe('KeyUsage (Redis)', () => {
  const prefix = testRedisPrefix();
  const redis = new Redis(TEST_REDIS_URL);
  const config = loadGatewayConfig({ REDIS_PREFIX: prefix, KEY_USAGE_FLUSH_MS: '60000' });
  const connections: Redis[] = [];
  /** A gateway replica's recorder, on its own connection (ready, as the gateway's is before it serves). */
  const replica = async () => {
    const connection = redis.duplicate();
    connections.push(connection);
    await new Promise((r) => connection.once('ready', r));
    return new KeyUsage(connection, config);
  };

  afterAll(async () => {
    await dropRedisPrefix(prefix);
    for (const c of [...connections, redis]) c.disconnect();
  });

  it('keeps requests in memory and writes one hash per account on flush, without a write per request', async () => {
    const usage = await replica();
    const commands: string[] = [];
    const monitor = await redis.monitor();
    monitor.on('monitor', (_t: number, args: string[]) => args.join(' ').includes(prefix) && commands.push(args[0]));
    for (let i = 0; i < 200; i++) usage.touch('9001_aaaaaaaaaaaa', 9001, 1_000 + i);
    usage.touch('9002_bbbbbbbbbbbb', 9002, 5_000);
    expect(await redis.exists(`${prefix}keys:last_used:9001`)).toBe(0);
    // visible before the flush to the replica that saw it
    expect((await usage.lastUsed(9001)).get('9001_aaaaaaaaaaaa')).toBe(1_199);
    await usage.flush();
    expect(await redis.hgetall(`${prefix}keys:last_used:9001`)).toEqual({ '9001_aaaaaaaaaaaa': '1199' });
    expect(await redis.hgetall(`${prefix}keys:last_used:9002`)).toEqual({ '9002_bbbbbbbbbbbb': '5000' });
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    // the two flushes' scripts (and the reads), never 201 writes
    expect(commands.filter((c) => /^(evalsha|eval)$/i.test(c)).length).toBeLessThanOrEqual(3);
  });

  it('replicas flushing in any order keep the latest time; another replica sees it', async () => {
    const [a, b] = [await replica(), await replica()];
    b.touch('9003_cccccccccccc', 9003, 9_000);
    await b.flush();
    a.touch('9003_cccccccccccc', 9003, 8_000); // older, flushed later
    await a.flush();
    expect((await (await replica()).lastUsed(9003)).get('9003_cccccccccccc')).toBe(9_000);
  });

  it('forget removes a deleted key', async () => {
    const usage = await replica();
    usage.touch('9004_dddddddddddd', 9004, 1);
    await usage.flush();
    await usage.forget('9004_dddddddddddd', 9004);
    expect((await usage.lastUsed(9004)).size).toBe(0);
  });

  it('a flush that fails keeps its times for the next one', async () => {
    const connection = redis.duplicate();
    connections.push(connection);
    const usage = new KeyUsage(connection, config);
    await new Promise((r) => connection.once('ready', r));
    connection.disconnect();
    usage.touch('9005_eeeeeeeeeeee', 9005, 42);
    await usage.flush(); // Redis gone: no throw, nothing written
    expect(await redis.exists(`${prefix}keys:last_used:9005`)).toBe(0);
    await connection.connect();
    await usage.flush();
    expect(await redis.hget(`${prefix}keys:last_used:9005`, '9005_eeeeeeeeeeee')).toBe('42');
  });
});

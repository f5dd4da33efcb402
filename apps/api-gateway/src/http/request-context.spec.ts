import type { FastifyReply, FastifyRequest } from 'fastify';
import { accessLogLine, maskApiKeys } from './request-context';

describe('access log', () => {
  const line = (url: string) =>
    accessLogLine({ url, method: 'POST', id: 'req-1', ip: '10.0.0.9' } as FastifyRequest, { statusCode: 200, elapsedTime: 1.25 } as FastifyReply);

  it('never writes an API key that is part of the path, keeping its account', () => {
    const key = '1002_8mtMGjdAIj0rPGKSnj5I6xAw';
    for (const url of [`/v1/keys/${key}/disable?api_key=${key}&hash=abc`, `/admin/v1/keys/${key}`, `/v1/keys/${key.replace('_', '%5F')}`]) {
      const logged = line(url);
      expect(logged).not.toContain('8mtMGjdAIj0rPGKSnj5I6xAw');
      expect(logged).toContain('1002_***');
    }
    expect(line(`/v1/keys/${key}/disable?x=1`)).toBe('POST /v1/keys/1002_***/disable 200 1.3ms id=req-1 client=10.0.0.9');
  });

  it('masks a key inside a segment too: a pasted key with a space, traversal before it, odd encodings', () => {
    const key = '1002_8mtMGjdAIj0rPGKSnj5I6xAw';
    const urls = [
      `/admin/v1/keys/${key}%20/enable`,
      `/admin/v1/keys/${key}%0A`,
      `/v1/keys/..%2F${key}`,
      `/v1/keys/x${key}`,
      `/v1/keys/${key}extra0123456789012345678901234567890123456789`,
      `/v1/keys/%zz${key.replace('_', '%5f')}`,
      `/v1/keys/${key.replace(/8/g, '%38')}%E2%82`,
    ];
    for (const url of urls) {
      const logged = line(url);
      expect([url, logged]).toEqual([url, expect.stringContaining('1002_***')]);
      expect(logged).not.toMatch(/8mtMGjdAIj|%38mtMGjdAIj/);
    }
  });

  it('leaves other segments alone (user names, call ids, file names)', () => {
    expect(maskApiKeys('/v1/users/1679728441/records/1796302473.0.wav')).toBe('/v1/users/1679728441/records/1796302473.0.wav');
    expect(maskApiKeys('/v1/calls/2561677a-0000-4000-8000-000000000000')).toBe('/v1/calls/2561677a-0000-4000-8000-000000000000');
    expect(maskApiKeys('/v1/keys/%zz')).toBe('/v1/keys/%zz');
  });
});

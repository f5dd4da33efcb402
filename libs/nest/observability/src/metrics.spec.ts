import { request } from 'node:http';
import { Metrics, enableDefaultMetrics, metricsRegistry } from './metrics';
import { metricsPortFrom, startOpsServer } from './ops-server';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ port, path, host: '127.0.0.1' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('metrics registry', () => {
  it('creates each metric once and exposes it in the Prometheus text format', async () => {
    enableDefaultMetrics('unit');
    expect(Metrics.httpRequests()).toBe(Metrics.httpRequests());
    Metrics.httpRequests().inc({ route: 'users.list', method: 'GET', status: '200' });
    Metrics.httpRequests().inc({ route: 'users.list', method: 'GET', status: '200' });
    Metrics.natsRequestDuration().observe({ subject: 'users.user.list', outcome: 'ok' }, 0.003);
    const text = await metricsRegistry.metrics();
    expect(text).toContain('# TYPE rc_http_requests_total counter');
    expect(text).toMatch(/rc_http_requests_total\{route="users.list",method="GET",status="200",app="unit"\} 2/);
    expect(text).toMatch(/rc_nats_request_duration_seconds_bucket\{le="0.005",app="unit",subject="users.user.list",outcome="ok"\} 1/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('serves /metrics, /healthz and /readyz on the operations port', async () => {
    let db = 'ok';
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', readiness: async () => ({ nats: 'ok', database: db }) });
    try {
      expect((await get(ops.port, '/metrics')).body).toContain('rc_http_requests_total');
      expect(await get(ops.port, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect((await get(ops.port, '/readyz')).status).toBe(200);
      db = 'connection refused';
      const notReady = await get(ops.port, '/readyz');
      expect(notReady.status).toBe(503);
      expect(JSON.parse(notReady.body).checks.database).toBe('connection refused');
    } finally {
      await ops.close();
    }
  });

  it('reads METRICS_PORT with 9464 as default and 0 as off', () => {
    expect(metricsPortFrom({})).toBe(9464);
    expect(metricsPortFrom({ METRICS_PORT: '0' })).toBe(0);
    expect(() => metricsPortFrom({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/);
  });
});

import http from 'node:http';

/**
 * A plain keep-alive HTTP client for latency figures. Node's `fetch` (undici) alone added 2–3 ms
 * per request on this machine — more than the gateway under test — so the bench does not time it:
 * a CRM's curl or requests-style client costs a fraction of that.
 */
export class KeepAliveClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /** POSTs `body` to `path` (with its query string); resolves the status once the answer is read. */
  post(path: string, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { agent: this.agent, host: this.host, port: this.port, method: 'POST', path, headers: { 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

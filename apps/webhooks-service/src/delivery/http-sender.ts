import http from 'node:http';
import https from 'node:https';
import { AddressGuard, DestinationRefused } from './address-guard';

export interface AttemptResult {
  /** The receiver's status; undefined when no answer came (refused, network error, timeout). */
  status?: number;
  latencyMs: number;
  /** Why it failed, for the delivery log; undefined on 2xx. */
  error?: string;
  /** The destination was refused before any connection (SSRF rules). */
  refused?: boolean;
}

/** The receiver's body is read (so the connection ends cleanly) but not kept beyond this. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * An idle connection is closed after this long: shorter than common server idle timeouts (Node's
 * 5 s), so a connection is rarely reused just as the receiver closes it.
 */
const IDLE_SOCKET_MS = 4000;

/**
 * One POST to a webhook receiver: the destination checked by the AddressGuard on every attempt,
 * the socket opened to the checked address (TLS still verifies the certificate against the URL's
 * host name), no redirects followed, the whole exchange bounded by `timeoutMs`. Connections are
 * kept alive between attempts, pooled by the checked address (the agent's key is the address we
 * connect to, never the host name), so a reused socket always leads where this attempt's check
 * said it may; a reused socket that the receiver had closed is retried once on a fresh one.
 */
export class HttpSender {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
    https: new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
  };

  constructor(
    private readonly guard: AddressGuard,
    private readonly timeoutMs: number,
  ) {}

  /** Closes the kept-alive connections (shutdown, after the last attempt). */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  async post(rawUrl: string, headers: Record<string, string>, body: string): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let destination;
    try {
      destination = await this.guard.check(rawUrl);
    } catch (err) {
      if (err instanceof DestinationRefused) return { latencyMs: elapsed(), error: err.message, refused: true };
      throw err;
    }
    const { url, address, family } = destination;
    const secure = url.protocol === 'https:';
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      let request: http.ClientRequest;
      const finish = (result: Omit<AttemptResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, latencyMs: elapsed() });
      };
      const send = (fresh: boolean) => {
        let answered = false;
        request = (secure ? https : http).request({
          method: 'POST',
          host: address,
          family,
          port: url.port || (secure ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          // SNI and certificate check against the name in the URL, not the address.
          ...(secure ? { servername: hostname } : {}),
          agent: fresh ? false : secure ? this.agents.https : this.agents.http,
          headers: { ...headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) },
        });
        request.on('response', (response) => {
          answered = true;
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > MAX_RESPONSE_BYTES) response.destroy();
          });
          const done = () => {
            const status = response.statusCode ?? 0;
            finish(status >= 200 && status < 300 ? { status } : { status, error: `HTTP ${status}` });
          };
          response.on('end', done);
          response.on('close', done);
          response.on('error', done);
        });
        request.on('error', (err: NodeJS.ErrnoException) => {
          // A kept-alive connection the receiver had closed meanwhile: send once more on a new one (a
          // duplicate, should it have got through after all, is within at-least-once).
          if (!settled && !answered && request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) send(true);
          else finish({ error: describeNetworkError(err) });
        });
        request.end(body);
      };
      const timer = setTimeout(() => {
        finish({ error: `timeout: no answer within ${this.timeoutMs} ms` });
        request.destroy();
      }, this.timeoutMs);
      send(false);
    });
  }
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the receiver';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}

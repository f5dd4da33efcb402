import { createHash } from 'node:crypto';

export const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function toResult(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let body: any = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

export interface Credentials {
  api_key: string;
  password: string;
}

/** A CRM's view of the v1 API: credentials in the query string, `{"params": …}` bodies. */
export class V1Client {
  constructor(
    readonly baseUrl: string,
    readonly credentials: Credentials,
  ) {}

  get hash(): string {
    return md5(this.credentials.api_key + this.credentials.password);
  }

  url(path: string, query: Record<string, string> = {}): string {
    const url = new URL(path, this.baseUrl);
    url.searchParams.set('api_key', this.credentials.api_key);
    url.searchParams.set('hash', this.hash);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url.toString();
  }

  async get(path: string, query: Record<string, string> = {}): Promise<HttpResult> {
    return toResult(await fetch(this.url(path, query)));
  }

  /** POST `{"params": params}` as JSON text, with the given Content-Type (none by default, like Python requests' data=). */
  async post(path: string, params?: unknown, contentType?: string): Promise<HttpResult> {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    const body = params === undefined ? undefined : JSON.stringify({ params });
    return toResult(await fetch(this.url(path), { method: 'POST', headers, body }));
  }

  async raw(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpResult> {
    return toResult(await fetch(this.url(path), { method, body: init.body, headers: init.headers }));
  }
}

/** Admin API calls for test set-up. */
export class AdminClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<HttpResult> {
    return toResult(
      await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  }

  async createKey(accountId: number, access: 'RO' | 'RW'): Promise<Credentials> {
    const accounts = await this.call('GET', '/admin/v1/accounts');
    if (!accounts.body?.data?.some((a: { account_id: number }) => a.account_id === accountId)) {
      const created = await this.call('POST', '/admin/v1/accounts', { account_id: accountId, name: `Account ${accountId}` });
      if (created.status !== 200) throw new Error(`account create failed: ${created.text}`);
    }
    const res = await this.call('POST', `/admin/v1/accounts/${accountId}/keys`, { access });
    if (res.status !== 200) throw new Error(`key create failed: ${res.status} ${res.text}`);
    return { api_key: res.body.data.api_key, password: res.body.data.password };
  }
}

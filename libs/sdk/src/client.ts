import { v1Hash } from './auth.js';
import { GeneratedOperations, OPERATIONS, type OperationId, type Operations } from './generated/operations.js';
import { Transport, fillPath, newIdempotencyKey, sleep, type RequestSpec } from './transport.js';
import type {
  ApiResponse,
  CallDetails,
  CrmEvent,
  DownloadedFile,
  OperationSpec,
  OriginateResult,
  Page,
  RequestOptions,
  RetryPolicy,
} from './types.js';

export interface RingCloudOptions {
  /** The gateway, e.g. `http://127.0.0.1:3000` (`npm start`) or `https://api.example.com/`. */
  baseUrl: string;
  /** `<account_id>_<random>`. */
  apiKey?: string;
  /** The key's password: the client sends `hash = md5(apiKey + password)`, never the password. */
  password?: string;
  /** Or the hash itself, if that is what you store. */
  hash?: string;
  /** The operator's ADMIN_TOKEN, for the `/admin/v1` operations only. */
  adminToken?: string;
  /** When to wait and try again (429 always honours `Retry-After`). */
  retry?: Partial<RetryPolicy>;
  /** Per attempt. Default 30 000 ms. */
  timeoutMs?: number;
  /** Another fetch (a proxy agent, a test double). Default: Node's global fetch. */
  fetch?: typeof fetch;
  userAgent?: string;
}

// v1 objects, as the served OpenAPI document describes them.
export type V1User = Operations['users.get']['result'];
export type CompletedCall = Operations['calls.complete']['result'][number] & { call_id?: string; external_id?: string | null };
export type ActiveCall = Operations['calls.active']['result'][number] & { call_id?: string; external_id?: string | null };
export type ChannelInfo = Operations['calls.channels.get']['result'];
/** `[file_name, recording_time]`. */
export type RecordingEntry = Operations['users.records.list']['result'][number];
export type CreateUserParams = Operations['users.create']['input']['params'];
export type OriginateParams = Operations['calls.originate']['input']['params'] & {
  /** Your own tag for the call (≤ 64 printable ASCII characters), echoed in its events and details. */
  external_id?: string;
};

/** A webhook subscription (`disabled_reason` says why the server disabled it: 410, retries exhausted). */
export type Webhook = Operations['webhooks.get']['result'];
/** Returned by create and rotate_secret only: the signing secret `whsec_<base64>` is never shown again. */
export type WebhookWithSecret = Operations['webhooks.create']['result'];
export type WebhookCreateParams = Operations['webhooks.create']['input']['params'];
export type WebhookUpdateParams = Operations['webhooks.update']['input']['params'];
/** One delivery of an event to a webhook (`GET /v1/webhooks/<id>/deliveries`, newest first). */
export type WebhookDelivery = Operations['webhooks.deliveries.list']['result'][number];
/** An API key as its account's owner sees it (never a password). */
export type ApiKeyInfo = Operations['keys.get']['result'];
/** A key with its password: answered by create and regenerate only. */
export type ApiKeyWithPassword = Operations['keys.create']['result'];
/** Whether a user's phone is registered (the PBX can ring it). */
export type UserRegistration = Operations['users.registrations']['result'][number];

/** Writes the server de-duplicates by `Idempotency-Key` (docs/events.md): the SDK sends one by default. */
const IDEMPOTENT = new Set(['POST /v1/calls', 'POST /v1/users/create']);

const seg = (value: string | number) => {
  if (value === undefined || value === null || String(value) === '') throw new TypeError('an id in the path is missing');
  return encodeURIComponent(String(value));
};

async function* paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (!page.nextCursor || page.nextCursor === cursor) return;
    cursor = page.nextCursor;
  }
}

/**
 * The RingCloud API client. Every served operation is a method (generated from the OpenAPI document,
 * e.g. `usersGet({ path: { username } })`); the namespaces (`users`, `calls`, `recordings`, `webhooks`,
 * `events`) are the hand-written, friendlier forms of the same calls.
 */
export class RingCloud extends GeneratedOperations {
  readonly transport: Transport;

  constructor(options: RingCloudOptions) {
    super();
    const hash = options.hash ?? (options.apiKey !== undefined && options.password !== undefined ? v1Hash(options.apiKey, options.password) : undefined);
    this.transport = new Transport({ ...options, hash });
  }

  /** Calls an operation by its OpenAPI operationId and returns the whole answer (data, headers, cursor). */
  async callOperation<K extends OperationId>(
    id: K,
    input: Operations[K]['input'],
    options: RequestOptions = {},
  ): Promise<ApiResponse<Operations[K]['result']>> {
    const op: OperationSpec = OPERATIONS[id];
    if (!op) throw new TypeError(`unknown operation ${String(id)}`);
    const given = (input ?? {}) as { path?: Record<string, string | number>; query?: RequestSpec['query']; params?: unknown; body?: unknown };
    return this.send(
      {
        method: op.method,
        path: fillPath(op.path, given.path),
        auth: op.auth,
        query: given.query,
        bodyKind: op.body,
        body: op.body === 'params' ? given.params : given.body,
        download: op.download,
      },
      options,
      op.headers?.some((h) => h.toLowerCase() === 'idempotency-key'),
    );
  }

  protected async invoke<K extends OperationId>(id: K, input: Operations[K]['input'], options?: RequestOptions): Promise<Operations[K]['result']> {
    return (await this.callOperation(id, input, options)).data;
  }

  /** Any request (for an operation this SDK version does not know yet): credentials, envelope, errors and retries included. */
  async send<T = unknown>(spec: RequestSpec, options: RequestOptions = {}, idempotent = false): Promise<ApiResponse<T>> {
    const headers = { ...spec.headers };
    if ((idempotent || IDEMPOTENT.has(`${spec.method.toUpperCase()} ${spec.path}`)) && options.idempotencyKey !== false) {
      headers['Idempotency-Key'] = options.idempotencyKey ?? newIdempotencyKey();
    }
    return this.transport.request<T>({ ...spec, headers }, options);
  }

  private get<T>(path: string, query?: RequestSpec['query'], options?: RequestOptions) {
    return this.send<T>({ method: 'GET', path, auth: 'key', query }, options);
  }

  /** Employees and their SIP accounts. */
  readonly users = {
    /** All users of the account (v1's answer; `password` is null for RO keys). */
    list: (options?: RequestOptions): Promise<V1User[]> => this.usersList({}, options),
    /** One page (`limit` 1–1000); pass `nextCursor` back as `cursor`. */
    page: async (page: { limit: number; cursor?: string }, options?: RequestOptions): Promise<Page<V1User>> => {
      const res = await this.callOperation('users.list', { query: { limit: page.limit, cursor: page.cursor } }, options);
      return { items: res.data, nextCursor: res.nextCursor };
    },
    /** Every user, page by page (`for await (const user of client.users.iterate())`). */
    iterate: (query: { limit?: number } = {}, options?: RequestOptions): AsyncGenerator<V1User, void, undefined> =>
      paginate((cursor) => this.users.page({ limit: query.limit ?? 100, cursor }, options)),
    get: (user: string | number, options?: RequestOptions): Promise<V1User> => this.usersGet({ path: { username: user } }, options),
    /** Creates a user and returns its user name (also its SIP username). Sends an `Idempotency-Key` (generated unless given). */
    create: (params: CreateUserParams, options?: RequestOptions): Promise<string> => this.usersCreate({ params }, options),
    updatePassword: (user: string | number, password: string, options?: RequestOptions) =>
      this.usersUpdatePassword({ path: { username: user }, params: { password } }, options),
    updateExtension: (user: string | number, num: string | number, options?: RequestOptions) =>
      this.usersUpdateExtensionNumber({ path: { username: user }, params: { num } }, options),
    updateEmail: (user: string | number, mail: string, options?: RequestOptions) =>
      this.usersUpdateEmail({ path: { username: user }, params: { mail } }, options),
    setVoicemail: (user: string | number, on: boolean, options?: RequestOptions) =>
      on ? this.usersVoiceMailBoxOn({ path: { username: user } }, options) : this.usersVoiceMailBoxOff({ path: { username: user } }, options),
    /** Whether each user's phone is registered (the PBX can ring it; originate needs it). */
    registrations: (options?: RequestOptions): Promise<UserRegistration[]> => this.usersRegistrations({}, options),
    /** Removes the user and deprovisions its phone; its call records and recordings stay. */
    delete: (user: string | number, options?: RequestOptions): Promise<null> => this.usersDelete({ params: { user: String(user) } }, options),
  };

  /** Call recordings. */
  readonly recordings = {
    /** `[file_name, recording_time]` pairs, newest first. */
    list: (user: string | number, options?: RequestOptions): Promise<RecordingEntry[]> =>
      this.usersRecordsList({ path: { username: user } }, options),
    /** Downloads a recording: by a completed call's `rec_file`, or by user and file name. */
    download: (recording: string | { user: string | number; file: string }, options?: RequestOptions): Promise<DownloadedFile> => {
      const { user, file } = typeof recording === 'string' ? parseRecFile(recording) : recording;
      return this.usersRecordsDownload({ path: { username: user, filename: file } }, options);
    },
    /** The recording's URL with credentials (for an audio player); it contains the hash: do not log it. */
    url: (recording: string | { user: string | number; file: string }): string => {
      const { user, file } = typeof recording === 'string' ? parseRecFile(recording) : recording;
      return this.transport.url(`/v1/users/${seg(user)}/records/${seg(file)}`).href;
    },
  };

  /** Calls and live channels. */
  readonly calls = {
    /**
     * Rings the user's phone, then dials `num`. Sends an `Idempotency-Key` (generated unless you pass
     * `idempotencyKey`), so retrying it never places a second call; answers the call's id (`X-Call-Id`).
     */
    originate: async (params: OriginateParams, options: RequestOptions = {}): Promise<OriginateResult> => {
      const idempotencyKey = options.idempotencyKey === false ? null : (options.idempotencyKey ?? newIdempotencyKey());
      const res = await this.callOperation('calls.originate', { params } as Operations['calls.originate']['input'], {
        ...options,
        idempotencyKey: idempotencyKey ?? false,
      });
      return {
        message: res.data,
        callId: res.headers.get('x-call-id'),
        idempotencyKey,
        replayed: res.headers.get('idempotent-replayed') === 'true',
      };
    },
    /** One call by id: state, parties, times, disposition, recording. */
    get: async (callId: string, options?: RequestOptions): Promise<CallDetails> => (await this.get<CallDetails>(`/v1/calls/${seg(callId)}`, undefined, options)).data,
    active: (options?: RequestOptions): Promise<ActiveCall[]> => this.callsActive({}, options),
    /** Completed calls of the last `days` (1–7, default 7), optionally only those with `num` as src or dst. */
    completed: (query: { days?: number; num?: string } = {}, options?: RequestOptions): Promise<CompletedCall[]> =>
      this.callsComplete({ query }, options),
    completedPage: async (
      query: { days?: number; num?: string; limit: number; cursor?: string },
      options?: RequestOptions,
    ): Promise<Page<CompletedCall>> => {
      const res = await this.get<CompletedCall[]>('/v1/calls/complete', query, options);
      return { items: res.data, nextCursor: res.nextCursor };
    },
    iterateCompleted: (query: { days?: number; num?: string; limit?: number } = {}, options?: RequestOptions) =>
      paginate((cursor) => this.calls.completedPage({ ...query, limit: query.limit ?? 100, cursor }, options)),
    channels: (options?: RequestOptions): Promise<string[]> => this.callsChannelsList({}, options),
    channel: (name: string, options?: RequestOptions): Promise<ChannelInfo> => this.callsChannelsGet({ path: { channel: name } }, options),
  };

  /** Webhook subscriptions (RW keys to change them): signed deliveries of the account's events. */
  readonly webhooks = {
    /** The answer holds `secret` (`whsec_…`), shown only here and on rotation: keep it for WebhookVerifier. */
    create: (params: WebhookCreateParams, options?: RequestOptions): Promise<WebhookWithSecret> => this.webhooksCreate({ params }, options),
    list: (options?: RequestOptions): Promise<Webhook[]> => this.webhooksList({}, options),
    get: (id: string, options?: RequestOptions): Promise<Webhook> => this.webhooksGet({ path: { webhook_id: id } }, options),
    /** Change url, events, description, or `enabled` (re-enabling one the server disabled). */
    update: (id: string, params: WebhookUpdateParams, options?: RequestOptions): Promise<Webhook> =>
      this.webhooksUpdate({ path: { webhook_id: id }, params }, options),
    delete: (id: string, options?: RequestOptions): Promise<null> => this.webhooksDelete({ path: { webhook_id: id } }, options),
    /** A new secret; the old one keeps signing too for 24 h (receivers verify with both meanwhile). */
    rotateSecret: (id: string, options?: RequestOptions): Promise<WebhookWithSecret> =>
      this.webhooksRotateSecret({ path: { webhook_id: id } }, options),
    /** Delivery attempts, newest first (`limit` 1–1000, default 100). */
    deliveries: (id: string, query: { limit?: number } = {}, options?: RequestOptions): Promise<WebhookDelivery[]> =>
      this.webhooksDeliveriesList({ path: { webhook_id: id }, query }, options),
    /** Delivers the delivery's event again now. */
    retryDelivery: (id: string, deliveryId: string, options?: RequestOptions) =>
      this.webhooksDeliveriesRetry({ path: { webhook_id: id, delivery_id: deliveryId } }, options),
  };

  /** The account's API keys, as its owner manages them (RW keys; always the caller's own account). */
  readonly keys = {
    list: (options?: RequestOptions): Promise<ApiKeyInfo[]> => this.keysList({}, options),
    get: (apiKey: string, options?: RequestOptions): Promise<ApiKeyInfo> => this.keysGet({ path: { key: apiKey } }, options),
    /** A new key and its password — shown only in this answer. */
    create: (access: 'RO' | 'RW', options?: RequestOptions): Promise<ApiKeyWithPassword> => this.keysCreate({ params: { access } }, options),
    /** A new password for the key (shown only in this answer); the old one stops working at once. */
    regenerate: (apiKey: string, options?: RequestOptions): Promise<ApiKeyWithPassword> => this.keysRegenerate({ path: { key: apiKey } }, options),
    disable: (apiKey: string, options?: RequestOptions): Promise<ApiKeyInfo> => this.keysDisable({ path: { key: apiKey } }, options),
    enable: (apiKey: string, options?: RequestOptions): Promise<ApiKeyInfo> => this.keysEnable({ path: { key: apiKey } }, options),
    delete: (apiKey: string, options?: RequestOptions) => this.keysDelete({ path: { key: apiKey } }, options),
  };

  /** The event feed: the same events as the webhooks, kept 7 days, to catch up after downtime. */
  readonly events = {
    /** Events after `after` (an event id; omit for the oldest kept), `limit` 1–1000. */
    list: async (query: { after?: string; limit?: number } = {}, options?: RequestOptions): Promise<Page<CrmEvent>> => {
      const res = await this.callOperation('events.list', { query }, options);
      return { items: res.data as CrmEvent[], nextCursor: res.nextCursor };
    },
    /**
     * Every event after `after`, in order. With `follow`, it keeps polling (every `pollIntervalMs`,
     * default 2 s) for new ones until `signal` aborts; store the last `event.id` you handled to resume.
     */
    iterate: (
      query: { after?: string; limit?: number; follow?: boolean; pollIntervalMs?: number } = {},
      options: RequestOptions = {},
    ): AsyncGenerator<CrmEvent, void, undefined> => this.followEvents(query, options),
  };

  private async *followEvents(
    query: { after?: string; limit?: number; follow?: boolean; pollIntervalMs?: number },
    options: RequestOptions,
  ): AsyncGenerator<CrmEvent, void, undefined> {
    let after = query.after;
    for (;;) {
      const page = await this.events.list({ after, limit: query.limit ?? 100 }, options);
      for (const event of page.items) {
        yield event;
        after = event.id;
      }
      if (page.items.length > 0 && page.nextCursor) {
        after = page.nextCursor;
        continue;
      }
      if (!query.follow) return;
      await sleep(query.pollIntervalMs ?? 2_000, options.signal);
    }
  }
}

/** `/v1/users/<user>/records/<file>` (a completed call's `rec_file`, with or without a host) → its parts. */
export function parseRecFile(recFile: string): { user: string; file: string } {
  const path = /^https?:\/\//i.test(recFile) ? new URL(recFile).pathname : recFile.split('?')[0];
  const match = /^\/*v1\/users\/([^/]+)\/records\/([^/]+)$/.exec(path);
  if (!match) throw new TypeError(`not a recording path: ${path}`);
  return { user: decodeURIComponent(match[1]), file: decodeURIComponent(match[2]) };
}

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import AsteriskManager from 'asterisk-manager';
import { DomainError } from '@ringcloud/contracts-common';
import { AmiActionFields, checkedAction } from './ami-headers';
import { AmiMessage, field } from './ami-message';

export interface AmiSessionOptions {
  /** PBX node name (logs only here). */
  node: string;
  host: string;
  port: number;
  username: string;
  secret: string;
  /** Every action fails with UNAVAILABLE when its response has not come after this long. */
  actionTimeoutMs: number;
  /** Reconnect delay: min·2^attempt capped at max, then jittered to 50–100 %. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** TCP connect + login must finish within this long, or the attempt is abandoned. */
  connectTimeoutMs?: number;
  /**
   * With nothing heard from the PBX for this long, a `Ping` is sent; one unanswered within
   * actionTimeoutMs means the PBX hangs (a stopped or wedged Asterisk keeps its TCP connection open
   * and takes actions it runs only when it resumes), so the connection is dropped and retried — not
   * ready meanwhile: originates are refused at once and readiness says so. 0: off. Default 10 s.
   */
  keepaliveMs?: number;
  logger: { log(m: string): void; warn(m: string): void; error(m: string): void; debug?(m: string): void };
  random?: () => number;
}

type Status = 'stopped' | 'connecting' | 'ready' | 'waiting';

interface PendingAction {
  manager: AsteriskManager.Manager;
  timer: NodeJS.Timeout;
  reject(err: Error): void;
}

const unavailable = (message: string) => DomainError.unavailable(message);

/**
 * asterisk-manager keeps its socket to itself and its disconnect() only half-closes an open one
 * (a connecting one is left as is). Seen on a real Asterisk frozen with SIGSTOP: retries stuck in
 * SYN-SENT connected after it resumed and sat unauthenticated until Asterisk logged them as failed
 * authentications (fail2ban material). So the socket it creates is caught here, to be closed for good.
 */
function connectCatchingSocket(manager: AsteriskManager.Manager, port: number, host: string, onConnect: () => void): net.Socket | undefined {
  const createConnection = net.createConnection;
  let socket: net.Socket | undefined;
  // asterisk-manager calls net.createConnection synchronously inside connect().
  (net as { createConnection: typeof net.createConnection }).createConnection = ((...args: Parameters<typeof net.createConnection>) =>
    (socket = createConnection.apply(net, args))) as typeof net.createConnection;
  try {
    manager.connect(port, host, onConnect);
  } finally {
    (net as { createConnection: typeof net.createConnection }).createConnection = createConnection;
  }
  return socket;
}

/**
 * One AMI session to one PBX node, on top of asterisk-manager, whose own reconnect (fixed 10–60 s
 * delays, listeners possibly lost, actions held forever) is not used. Instead every connection
 * attempt gets a fresh client with this session's listeners attached, reconnects back off
 * exponentially with jitter, every action has a timeout (and fails at once while disconnected),
 * and pending actions fail as soon as the connection drops. Listeners of this class survive
 * reconnects; `onReady` runs after every successful login, which is where callers resync.
 */
export class AmiSession {
  private status: Status = 'stopped';
  private manager?: AsteriskManager.Manager;
  private readonly sockets = new WeakMap<AsteriskManager.Manager, net.Socket>();
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private attemptTimer?: NodeJS.Timeout;
  private readonly pending = new Map<string, PendingAction>();
  private readonly eventListeners = new Set<(event: AmiMessage) => void>();
  private readonly readyListeners = new Set<() => void>();
  private readonly downListeners = new Set<(reason: string) => void>();
  private lastError?: string;
  private connectedOnce = false;
  private keepaliveTimer?: NodeJS.Timeout;
  private lastHeard = 0;
  private pinging = false;

  constructor(private readonly options: AmiSessionOptions) {}

  get node(): string {
    return this.options.node;
  }

  /** Logged in and able to send actions. */
  get isReady(): boolean {
    return this.status === 'ready';
  }

  onEvent(listener: (event: AmiMessage) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  onDown(listener: (reason: string) => void): () => void {
    this.downListeners.add(listener);
    return () => this.downListeners.delete(listener);
  }

  start(): void {
    if (this.status !== 'stopped') return;
    this.connect();
  }

  async stop(): Promise<void> {
    this.status = 'stopped';
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.attemptTimer);
    clearInterval(this.keepaliveTimer);
    const manager = this.manager;
    this.manager = undefined;
    this.failPending(undefined, 'the AMI session was stopped');
    if (manager) this.abandon(manager);
  }

  /**
   * Sends one action and resolves with its response (`Response: Success|Error|…` as a message).
   * UNAVAILABLE at once when not logged in, when the connection drops before the response, or
   * after the timeout. Header values are checked for CR/LF before anything is written.
   */
  action(fields: AmiActionFields, options: { timeoutMs?: number; actionId?: string } = {}): Promise<AmiMessage> {
    const actionId = options.actionId ?? `rc-${randomUUID()}`;
    let action: ReturnType<typeof checkedAction>;
    try {
      action = checkedAction({ ...fields, ActionID: actionId });
      delete action.ActionID;
    } catch (err) {
      return Promise.reject(err);
    }
    const manager = this.manager;
    if (this.status !== 'ready' || !manager) return Promise.reject(unavailable('the PBX is unavailable (AMI not connected)'));
    const timeoutMs = options.timeoutMs ?? this.options.actionTimeoutMs;
    return new Promise<AmiMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        manager.removeAllListeners(actionId);
        this.pending.delete(actionId);
        reject(unavailable(`the PBX did not answer ${field(action as AmiMessage, 'action') || 'the action'} in time`));
      }, timeoutMs);
      this.pending.set(actionId, { manager, timer, reject });
      manager.action({ ...action, actionid: actionId }, (err, response) => {
        if (this.manager === manager) this.lastHeard = Date.now();
        const entry = this.pending.get(actionId);
        if (!entry) return; // already timed out or failed by a disconnect
        clearTimeout(entry.timer);
        this.pending.delete(actionId);
        // asterisk-manager passes `Response: Error` as err; both are responses the caller reads.
        resolve((err ?? response ?? {}) as AmiMessage);
      });
    });
  }

  private connect(): void {
    this.status = 'connecting';
    const { host, port, username, secret } = this.options;
    // No port: the constructor does not connect, so listeners are attached before any byte flows.
    const manager = new AsteriskManager(undefined, host, username, secret, true);
    this.manager = manager;
    // Without this, asterisk-manager's own no-op listener swallows every socket error.
    manager.on('error', (err: Error) => this.onError(manager, err));
    manager.on('managerevent', (event: AmiMessage) => {
      if (this.manager !== manager) return;
      this.lastHeard = Date.now();
      this.emitEvent(event);
    });
    manager.on('close', () => this.onClose(manager, 'connection closed'));

    this.attemptTimer = setTimeout(() => {
      if (this.manager === manager && this.status === 'connecting') {
        this.abandon(manager, true);
        this.onClose(manager, 'connect/login timed out', true);
      }
    }, this.options.connectTimeoutMs ?? Math.max(this.options.actionTimeoutMs, 2000));

    const socket = connectCatchingSocket(manager, port, host, () => {
      if (this.manager !== manager) return;
      manager.login((err) => {
        if (this.manager !== manager) return;
        if (err) {
          // The secret is never logged; the user name and Asterisk's message are enough.
          this.options.logger.error(`AMI login to ${host}:${port} as "${username}" refused: ${field(err, 'message') || 'error'}`);
          this.abandon(manager);
          this.onClose(manager, 'login refused', true);
          return;
        }
        clearTimeout(this.attemptTimer);
        this.status = 'ready';
        this.attempt = 0;
        this.lastError = undefined;
        this.options.logger.log(`AMI connected to ${host}:${port} (node ${this.options.node})${this.connectedOnce ? ' again' : ''}`);
        this.connectedOnce = true;
        this.startKeepalive(manager);
        for (const listener of [...this.readyListeners]) this.safely(() => listener());
      });
    });
    if (socket) this.sockets.set(manager, socket);
  }

  private onError(manager: AsteriskManager.Manager, err: Error): void {
    if (this.manager !== manager) return;
    // Repeated identical failures while retrying are logged once, not every attempt.
    const message = `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`;
    if (message !== this.lastError) this.options.logger.warn(`AMI ${this.options.host}:${this.options.port}: ${message}`);
    this.lastError = message;
  }

  private onClose(manager: AsteriskManager.Manager, reason: string, force = false): void {
    if (this.manager !== manager && !force) return;
    if (this.status === 'stopped') return;
    clearTimeout(this.attemptTimer);
    clearInterval(this.keepaliveTimer);
    const wasReady = this.status === 'ready';
    this.manager = undefined;
    this.status = 'waiting';
    this.failPending(manager, `connection to the PBX was lost (${reason})`);
    if (wasReady) {
      this.options.logger.warn(`AMI connection to ${this.options.host}:${this.options.port} lost: ${reason}`);
      for (const listener of [...this.downListeners]) this.safely(() => listener(reason));
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.attempt, 20));
    const delay = Math.round(base * (0.5 + (this.options.random ?? Math.random)() / 2));
    this.attempt++;
    this.options.logger.debug?.(`AMI reconnect attempt ${this.attempt} in ${delay} ms`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (this.status === 'waiting') this.connect();
    }, delay);
  }

  /** Pings a PBX that has been silent for keepaliveMs; no answer in time drops the connection. */
  private startKeepalive(manager: AsteriskManager.Manager): void {
    const every = this.options.keepaliveMs ?? 10_000;
    clearInterval(this.keepaliveTimer);
    if (every <= 0) return;
    this.lastHeard = Date.now();
    this.pinging = false;
    this.keepaliveTimer = setInterval(() => {
      if (this.manager !== manager || this.status !== 'ready' || this.pinging || Date.now() - this.lastHeard < every) return;
      this.pinging = true;
      this.action({ Action: 'Ping' })
        .catch((err: Error) => {
          if (this.manager !== manager || this.status !== 'ready') return; // the connection went meanwhile
          this.options.logger.warn(`AMI ${this.options.host}:${this.options.port}: the PBX did not answer a keepalive Ping (${err.message}); reconnecting`);
          this.abandon(manager, true);
          this.onClose(manager, 'keepalive Ping unanswered', true);
        })
        .finally(() => (this.pinging = false));
    }, Math.max(100, Math.floor(every / 4)));
    this.keepaliveTimer.unref();
  }

  /**
   * Drops a client: it can no longer reach this session, and its socket is closed for good — ended
   * when it is open, or with `reset` (a PBX that stopped answering) reset rather than left half-open;
   * one still connecting is destroyed before it connects. (A reset does not take back what a frozen
   * PBX already received: Linux still hands it the unread bytes when it resumes.)
   */
  private abandon(manager: AsteriskManager.Manager, reset = false): void {
    manager.removeAllListeners();
    // A late socket error on an abandoned client must not become an unhandled 'error' event.
    manager.on('error', () => undefined);
    const socket = this.sockets.get(manager);
    this.sockets.delete(manager);
    socket?.on('error', () => undefined);
    if (socket && !socket.destroyed && (reset || socket.readyState === 'opening')) {
      if (socket.readyState === 'opening') socket.destroy();
      else socket.resetAndDestroy();
      return;
    }
    try {
      manager.disconnect();
    } catch {
      // already gone
    }
  }

  private failPending(manager: AsteriskManager.Manager | undefined, message: string): void {
    for (const [actionId, entry] of this.pending) {
      if (manager && entry.manager !== manager) continue;
      clearTimeout(entry.timer);
      entry.manager.removeAllListeners(actionId);
      this.pending.delete(actionId);
      entry.reject(unavailable(message));
    }
  }

  private emitEvent(event: AmiMessage): void {
    for (const listener of [...this.eventListeners]) this.safely(() => listener(event));
  }

  /** A listener's bug is logged, never allowed to break the session. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.logger.error(`AMI listener failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
}

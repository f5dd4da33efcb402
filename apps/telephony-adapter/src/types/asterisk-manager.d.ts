// asterisk-manager 0.2.0 ships no typings: the part of its API this app uses.
declare module 'asterisk-manager' {
  namespace AsteriskManager {
    /** A parsed AMI message: lower-cased keys; repeated keys become arrays; `Variable:` headers an object. */
    type AmiValue = string | string[] | Record<string, string>;
    type AmiMessage = Record<string, AmiValue | undefined>;
    type ActionCallback = (err: AmiMessage | undefined, response?: AmiMessage) => void;

    interface Manager {
      options: { port?: number; host: string; username: string; password: string; events: boolean };
      on(event: string, listener: (...args: any[]) => void): Manager;
      once(event: string, listener: (...args: any[]) => void): Manager;
      removeListener(event: string, listener: (...args: any[]) => void): Manager;
      removeAllListeners(event?: string): Manager;
      listeners(event: string): Array<(...args: any[]) => void>;
      /** Opens the TCP connection; `callback` runs on connect (never on failure: listen to `error`/`close`). */
      connect(port: number, host: string, callback?: (err: null) => void): void;
      /** Sends Login with the constructor's credentials; `callback(err)` gets the error response. */
      login(callback?: (err?: AmiMessage) => void): void;
      /** Writes the action; the callback runs on the response with the same ActionID, if one ever comes. */
      action(action: Record<string, unknown>, callback?: ActionCallback): string;
      disconnect(callback?: () => void): void;
      isConnected(): boolean;
      keepConnected(): void;
    }

    interface Constructor {
      /** Connects and logs in at once when `port` is given; without it, nothing happens until connect(). */
      new (port?: number, host?: string, username?: string, password?: string, events?: boolean): Manager;
    }
  }

  const AsteriskManager: AsteriskManager.Constructor;
  export = AsteriskManager;
}

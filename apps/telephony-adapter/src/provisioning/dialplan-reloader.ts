import { field } from '../ami/ami-message';
import { AmiSession } from '../ami/ami-session';

/**
 * Asterisk only enters dial-plan contexts it knows; each account's `acct-<N>` context is
 * generated from the realtime tables when the dial plan loads (docker/asterisk/extensions.conf,
 * `#exec`). When the first user of a new account is provisioned the PBX must reload its dial
 * plan; a reload that cannot be sent now (PBX away) is sent after the next login.
 */
export class DialplanReloader {
  private pending = false;

  constructor(
    private readonly session: AmiSession,
    private readonly logger: { log(m: string): void; warn(m: string): void },
    private readonly enabled = true,
  ) {
    session.onReady(() => {
      if (this.pending) void this.send();
    });
  }

  request(): void {
    if (!this.enabled) return;
    this.pending = true;
    if (this.session.isReady) void this.send();
  }

  get isPending(): boolean {
    return this.pending;
  }

  private async send(): Promise<void> {
    try {
      const response = await this.session.action({ Action: 'Command', Command: 'dialplan reload' });
      this.pending = false;
      const raw = response.output;
      const output = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(' ') : '';
      if (field(response, 'response').toLowerCase() === 'error' || /no such command/i.test(output)) {
        this.logger.warn(`dialplan reload refused: ${field(response, 'message')} ${output}`.trim());
      } else this.logger.log('dialplan reloaded for a new account context');
    } catch (err) {
      this.logger.warn(`dialplan reload not sent (${(err as Error).message}); will retry after the next login`);
    }
  }
}

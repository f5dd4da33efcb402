import { AmiMessage, eventName, field } from '../ami/ami-message';

/**
 * Contact statuses that leave a phone unusable. Asterisk dials only reachable contacts
 * (res_pjsip_session uses AST_SIP_CONTACT_FILTER_REACHABLE): an `Unreachable` contact fails an
 * Originate exactly like no contact at all. `NonQualified` (registered, not yet or never
 * qualified), `Reachable` and `Unknown` can be rung.
 */
const UNUSABLE = new Set(['unreachable', 'removed']);

type Contacts = Map<string, Map<string, string>>;

/**
 * Which SIP endpoints have a registered contact, as real Asterisk knows it: the contact list
 * (`PJSIPShowContacts`) read after every (re)connect, then `ContactStatus` events. Device states
 * cannot answer this: for an endpoint provisioned while Asterisk runs, `DEVICE_STATE` stays
 * UNAVAILABLE although its phone is registered, and falls back to UNAVAILABLE after each call
 * (fixtures 30, 31). ContactStatus events flow for AORs with `qualify_frequency` set, which the
 * adapter provisions on every AOR. Pure: fed AMI messages in arrival order.
 *
 * Like DeviceStateList before it, the listing builds a fresh map (its items plus live changes
 * that arrive meanwhile) that replaces the old one when the list completes, so contacts that
 * expired while the adapter was away do not linger.
 */
export class Registrations {
  private contacts: Contacts = new Map();
  private next?: { actionId: string; contacts: Contacts };
  private synced = false;
  private waiters: Array<() => void> = [];

  /** PJSIPShowContacts was sent with this ActionID. */
  beginResync(actionId: string): void {
    this.next = { actionId, contacts: new Map() };
  }

  /** The connection dropped: nothing is known until the next listing completes. */
  invalidate(): void {
    this.next = undefined;
    this.synced = false;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Asterisk answered the listing with an error; "No Contacts found" is an empty list. */
  listRefused(actionId: string, message: string): void {
    if (this.next?.actionId !== actionId) return;
    if (/no contacts found/i.test(message)) this.complete();
    else this.next = undefined;
  }

  handle(message: AmiMessage): void {
    switch (eventName(message)) {
      case 'contactstatus': {
        const endpoint = field(message, 'endpointname') || field(message, 'aor');
        const uri = field(message, 'uri');
        if (!endpoint || !uri) return;
        const status = field(message, 'contactstatus');
        set(this.contacts, endpoint, uri, status);
        if (this.next) set(this.next.contacts, endpoint, uri, status);
        return;
      }
      case 'contactlist': {
        if (!this.next || field(message, 'actionid') !== this.next.actionId) return;
        // `Endpoint` is the endpoint that registered; the object name is `<aor>;@<hash>`.
        const endpoint = field(message, 'endpoint') || field(message, 'objectname').split(';@')[0];
        const uri = field(message, 'uri');
        if (endpoint && uri) set(this.next.contacts, endpoint, uri, field(message, 'status'));
        return;
      }
      case 'contactlistcomplete':
        if (this.next && field(message, 'actionid') === this.next.actionId) this.complete();
        return;
    }
  }

  /** The endpoint has a contact Asterisk would ring. Unknown endpoints have none. */
  isRegistered(endpoint: string): boolean {
    for (const status of this.contacts.get(endpoint)?.values() ?? []) if (!UNUSABLE.has(status.toLowerCase())) return true;
    return false;
  }

  /** Every endpoint with a usable contact (metrics, listings). */
  registeredEndpoints(): string[] {
    return [...this.contacts.keys()].filter((e) => this.isRegistered(e));
  }

  /** Resolves true once synced, false after `timeoutMs`. */
  whenSynced(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(wake);
    });
  }

  private complete(): void {
    this.contacts = this.next!.contacts;
    this.next = undefined;
    this.synced = true;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function set(contacts: Contacts, endpoint: string, uri: string, status: string): void {
  if (status.toLowerCase() === 'removed') {
    const uris = contacts.get(endpoint);
    uris?.delete(uri);
    if (uris?.size === 0) contacts.delete(endpoint);
    return;
  }
  const uris = contacts.get(endpoint) ?? new Map<string, string>();
  uris.set(uri, status);
  contacts.set(endpoint, uris);
}

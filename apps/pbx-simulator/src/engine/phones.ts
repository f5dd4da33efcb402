import { createHash } from 'node:crypto';
import type { Logger } from '../log';
import type { PjsipConfig } from '../realtime/config-objects';
import { permanentContact } from '../realtime/config-objects';
import type { EndpointRow, RealtimeRepository, Row } from '../realtime/repository';
import type { SimClock } from './clock';
import { Contact, DeviceStates, PhoneBehaviour, Registrations } from './devices';
import type { Publisher } from './publisher';

export interface RegisterOptions {
  behaviour?: PhoneBehaviour;
  /** The Contact URI the phone registers (default `sip:<user>@127.0.0.1:5070`). */
  uri?: string;
  userAgent?: string;
  /** Registration lifetime, seconds (default the AOR's default_expiration, else 3600). */
  expires?: number;
  /** The phone hangs up an originated call the talk time after it answered (Registrations.hangsUp). */
  hangsUp?: boolean;
}

export interface PhonesOptions {
  pub: Publisher;
  clock: SimClock;
  registrations: Registrations;
  realtime: RealtimeRepository;
  pjsip: PjsipConfig;
  /** PBX ms from REGISTER to the first OPTIONS of an AOR with qualify_frequency (Asterisk: random 0..qualify s). */
  qualifyDelayMs: number;
  log: Logger;
}

const num = (v: unknown): number => (v === null || v === undefined || v === '' ? 0 : Number(v) || 0);

/**
 * SIP phones registering, and what res_pjsip shows of it (ASTERISK.md "Second lab", fixtures 30/31):
 *
 * - an endpoint that existed when the PBX started (and a config endpoint with a permanent contact,
 *   the trunk) is on line while it has a contact: DeviceStateChange NOT_INUSE at REGISTER;
 * - an endpoint provisioned later whose AOR has no qualify_frequency raises nothing at all: it
 *   stays UNAVAILABLE (and falls back to it after every call) although calls to it work;
 * - with qualify_frequency: ContactStatus NonQualified at REGISTER, and after the first OPTIONS
 *   (`qualifyDelayMs` later) PeerStatus Reachable, ContactStatus Reachable, DeviceStateChange
 *   NOT_INUSE. Unregistering then gives PeerStatus Unreachable, ContactStatus Removed,
 *   DeviceStateChange UNAVAILABLE (pjsip_options.c; not recorded).
 */
export class Phones {
  /** Endpoints that existed when the simulator started (Asterisk's start-up endpoints). */
  private readonly atStart = new Set<string>();
  private readonly qualifyTimers = new Map<string, NodeJS.Timeout>();
  devices?: DeviceStates;

  constructor(private readonly o: PhonesOptions) {}

  get registrations(): Registrations {
    return this.o.registrations;
  }

  markAtStart(ids: Iterable<string>): void {
    for (const id of ids) this.atStart.add(id);
  }

  existedAtStart(user: string): boolean {
    return this.atStart.has(user);
  }

  /** Endpoint by id: pjsip.conf objects first, then realtime (sorcery.conf order). */
  async findEndpoint(id: string): Promise<EndpointRow | undefined> {
    return this.o.pjsip.endpoints.get(id) ?? (await this.o.realtime.findEndpoint(id));
  }

  async findAor(id: string): Promise<Row | undefined> {
    return this.o.pjsip.aors.get(id) ?? (await this.o.realtime.findAor(id));
  }

  /** Whether calls to this endpoint can be placed: a registered contact or a permanent one. */
  reachableForCalls(ep: EndpointRow): boolean {
    if (this.permanent(ep)) return true;
    return this.o.registrations.isRegistered(ep.id);
  }

  private permanent(ep: EndpointRow): string | undefined {
    if (!ep.fromConfig) return undefined;
    const aor = (ep.aors ?? '').split(',')[0].trim();
    return permanentContact(this.o.pjsip.aors.get(aor));
  }

  /** res_pjsip's endpoint state (what chan_pjsip_devicestate starts from). */
  online(user: string): boolean {
    const cfg = this.o.pjsip.endpoints.get(user);
    if (cfg) return this.permanent(cfg) !== undefined || this.o.registrations.isRegistered(user);
    const c = this.o.registrations.contact(user);
    if (!c) return false;
    if (c.qualifyFrequency > 0) return c.status === 'Reachable';
    return this.atStart.has(user);
  }

  /** The devices a config endpoint with a permanent contact puts in the cache at start (PJSIP/trunk NOT_INUSE). */
  startupDevices(): [string, string][] {
    return [...this.o.pjsip.endpoints.values()].filter((ep) => this.permanent(ep)).map((ep) => [`PJSIP/${ep.id}`, 'NOT_INUSE']);
  }

  /**
   * A REGISTER from the phone of `ep`. `silent` registers an endpoint that was registered before
   * anyone listened (auto-registration at start).
   */
  async register(ep: EndpointRow, opts: RegisterOptions = {}, silent = false): Promise<Contact> {
    if (opts.behaviour) this.o.registrations.setBehaviour(ep.id, opts.behaviour);
    if (opts.hangsUp !== undefined) this.o.registrations.setHangsUp(ep.id, opts.hangsUp);
    const aorId = (ep.aors ?? ep.id).split(',')[0].trim() || ep.id;
    const aor = await this.findAor(aorId);
    const qualifyFrequency = num(aor?.qualify_frequency);
    const previous = this.o.registrations.contact(ep.id);
    const uri = opts.uri ?? previous?.uri ?? `sip:${ep.id}@127.0.0.1:5070`;
    const hash = createHash('md5').update(`${aorId}:${uri}`).digest('hex');
    const via = /@([^:;>]+)(?::(\d+))?/.exec(uri);
    const contact: Contact = {
      endpoint: ep.id,
      aor: aorId,
      id: `${aorId};@${hash}`,
      uri,
      userAgent: opts.userAgent ?? previous?.userAgent ?? 'RingCloud PBX simulator phone',
      callId: previous?.callId ?? `${hash.slice(0, 8)}@127.0.0.1`,
      viaAddr: via?.[1] ?? '127.0.0.1',
      viaPort: via?.[2] ?? '5060',
      expires: Math.floor(this.o.clock.now() / 1000) + (opts.expires ?? (num(aor?.default_expiration) || 3600)),
      qualifyFrequency,
      status: previous && previous.uri === uri ? previous.status : 'NonQualified',
      rttUsec: previous?.rttUsec ?? 0,
    };
    this.o.registrations.add(contact);
    // A refresh of the same contact changes nothing Asterisk reports.
    if (previous && previous.uri === uri) return contact;
    if (previous) this.contactRemoved(previous, true);
    const devices = this.devices!;
    if (silent) {
      // Qualified long ago: reachable, with the round trip of its last OPTIONS (fixture 45's ContactList).
      if (qualifyFrequency > 0) {
        contact.status = 'Reachable';
        contact.rttUsec ||= 1000 + Math.floor(Math.random() * 1000);
      }
      devices.seed(`PJSIP/${ep.id}`, devices.pjsipState(ep.id));
      return contact;
    }
    if (qualifyFrequency > 0) {
      this.contactStatus(contact, 'NonQualified', 0);
      this.scheduleQualify(contact);
    } else if (this.atStart.has(ep.id) || ep.fromConfig) {
      // The endpoint's state compositor exists (derived from pjsip_options.c, not recorded).
      this.contactStatus(contact, 'NonQualified', 0);
      this.peerStatus(ep.id, 'Reachable');
      devices.pjsipChanged(ep.id);
    }
    return contact;
  }

  /** An unregister (REGISTER with Expires: 0) or a lapsed registration; false when there was no contact. */
  unregister(user: string): boolean {
    const c = this.o.registrations.remove(user);
    if (!c) return false;
    this.contactRemoved(c, false);
    return true;
  }

  private contactRemoved(c: Contact, replaced: boolean): void {
    clearTimeout(this.qualifyTimers.get(c.endpoint));
    this.qualifyTimers.delete(c.endpoint);
    const qualified = c.qualifyFrequency > 0;
    const compositor = qualified || this.atStart.has(c.endpoint) || this.o.pjsip.endpoints.has(c.endpoint);
    if (!compositor) return;
    const wasOnline = qualified ? c.status === 'Reachable' : true;
    if (wasOnline && !replaced) this.peerStatus(c.endpoint, 'Unreachable');
    this.contactStatus(c, 'Removed', 0);
    if (!replaced) this.devices!.pjsipChanged(c.endpoint);
  }

  /**
   * The endpoint's realtime rows were deleted (the user deleted). Asterisk says nothing: no
   * ContactStatus, PeerStatus or DeviceStateChange (fixtures 52, 53: the user deleted while its
   * phone rang; only the ringing channel's hangup publishes INVALID), and the contact stays in
   * `pjsip show contacts` (seen in the lab). It is no longer qualified here, so no event follows.
   */
  endpointDeleted(user: string): void {
    clearTimeout(this.qualifyTimers.get(user));
    this.qualifyTimers.delete(user);
  }

  /**
   * The phone stopped answering OPTIONS (its SIPp ended, 62 at +24.285 s): the next qualify times
   * out — PeerStatus Unreachable, ContactStatus Unreachable (RoundtripUsec 0), and the device,
   * whose endpoint is offline now, UNAVAILABLE. The registration stays. false when the phone has
   * no qualified contact (nothing is sent to it, nothing can time out).
   */
  qualifyTimedOut(user: string): boolean {
    const c = this.o.registrations.contact(user);
    if (!c || c.qualifyFrequency <= 0) return false;
    clearTimeout(this.qualifyTimers.get(user));
    this.qualifyTimers.delete(user);
    if (c.status === 'Unreachable') return true;
    const wasReachable = c.status === 'Reachable';
    c.status = 'Unreachable';
    c.rttUsec = 0;
    if (wasReachable) this.peerStatus(user, 'Unreachable');
    this.contactStatus(c, 'Unreachable', 0);
    this.devices!.pjsipChanged(user);
    return true;
  }

  private scheduleQualify(contact: Contact): void {
    clearTimeout(this.qualifyTimers.get(contact.endpoint));
    const timer = setTimeout(() => {
      this.qualifyTimers.delete(contact.endpoint);
      if (this.o.registrations.contact(contact.endpoint) !== contact) return;
      // The phone answers the OPTIONS: the contact and with it the endpoint become reachable.
      contact.status = 'Reachable';
      contact.rttUsec = 1000 + Math.floor(Math.random() * 1000);
      this.peerStatus(contact.endpoint, 'Reachable');
      this.contactStatus(contact, 'Reachable', contact.rttUsec);
      this.devices!.pjsipChanged(contact.endpoint);
    }, Math.max(0, this.o.clock.toWall(this.o.qualifyDelayMs)));
    timer.unref();
    this.qualifyTimers.set(contact.endpoint, timer);
  }

  private contactStatus(c: Contact, status: string, rtt: number): void {
    this.o.pub.emit('ContactStatus', 'system,all', [
      ['URI', c.uri],
      ['ContactStatus', status],
      ['AOR', c.aor],
      ['EndpointName', c.endpoint],
      ['RoundtripUsec', String(rtt)],
    ]);
  }

  private peerStatus(user: string, status: 'Reachable' | 'Unreachable'): void {
    this.o.pub.emit('PeerStatus', 'system,all', [
      ['ChannelType', 'PJSIP'],
      ['Peer', `PJSIP/${user}`],
      ['PeerStatus', status],
    ]);
  }

  stop(): void {
    for (const t of this.qualifyTimers.values()) clearTimeout(t);
    this.qualifyTimers.clear();
  }
}

/**
 * Real phones REGISTER soon after they are provisioned. With auto-registration on, an endpoint
 * that appears in ps_endpoints registers (with what that shows, see Phones); one that disappears
 * keeps its contact, silently (Phones.endpointDeleted). Endpoints present at the first poll are the PBX's start-up
 * endpoints; with auto-registration they are registered silently.
 */
export class ProvisioningWatcher {
  private known?: Set<string>;
  private running?: Promise<void>;

  constructor(
    private readonly listEndpoints: () => Promise<EndpointRow[] | undefined>,
    private readonly phones: Phones,
    private readonly devices: DeviceStates,
    private readonly log: Logger,
  ) {}

  /** One poll at a time: a slow one is joined, not overlapped. */
  poll(): Promise<void> {
    this.running ??= this.pollOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pollOnce(): Promise<void> {
    const endpoints = await this.listEndpoints();
    if (endpoints === undefined) return; // table unreadable: nothing is known to have changed
    const ids = new Set(endpoints.map((e) => e.id));
    const registrations = this.phones.registrations;
    if (!this.known) {
      this.phones.markAtStart(ids);
      for (const ep of endpoints) {
        if (registrations.autoRegisters(ep.id)) await this.phones.register(ep, {}, true);
        else this.devices.seed(`PJSIP/${ep.id}`, this.devices.pjsipState(ep.id));
      }
    } else {
      for (const ep of endpoints) {
        if (this.known.has(ep.id) || !registrations.autoRegisters(ep.id) || registrations.isRegistered(ep.id)) continue;
        await this.phones.register(ep).catch((err: Error) => this.log.warn(`auto-register ${ep.id}: ${err.message}`));
      }
      for (const id of this.known) {
        if (ids.has(id)) continue;
        this.phones.endpointDeleted(id);
      }
    }
    this.known = ids;
  }
}

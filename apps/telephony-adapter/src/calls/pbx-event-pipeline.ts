import { randomUUID } from 'node:crypto';
import { AmiMessage, eventName, field, getvarValue } from '../ami/ami-message';
import { AmiSession } from '../ami/ami-session';
import type { OpenCall } from '@ringcloud/contracts-calls';
import { AdoptedCall, CallNormaliser, LeftRecording, NormaliserOutput, OriginateIntent } from './call-normaliser';
import { RecordingJob, TelephonyDomainEvent } from './domain-events';
import { Registrations } from './registrations';

/** Where originate requests are kept beyond this process's memory (PostgreSQL in the app). */
export interface OriginateLedger {
  findByActionId(actionId: string): Promise<OriginateIntent | undefined>;
  recordOutcome(actionId: string, response: string, reason: number | null): Promise<void>;
}

export interface PipelineSinks {
  publish(event: TelephonyDomainEvent): void;
  recording(job: RecordingJob): void;
}

type Item =
  | { type: 'ami'; message: AmiMessage }
  | { type: 'resync' }
  | { type: 'sweep' }
  | { type: 'contacts-refused'; actionId: string; message: string }
  | { type: 'forgotten'; open: OpenCall[]; recordings: Map<string, LeftRecording>; resync: number };

export interface PipelineOptions {
  sweepMs?: number;
  resyncEveryMs?: number;
  /**
   * The calls of this node held open elsewhere (calls-service in the app). After each resync the
   * ones this process does not know end `reconciled`: without it, calls that ended while the adapter
   * was down (restarted, redeployed) stayed active in calls-service for good.
   */
  openCalls?: () => Promise<OpenCall[]>;
  /** Waits between attempts to read `openCalls` (calls-service may be starting too). */
  openCallsRetryMs?: readonly number[];
  /** The recording a call (by Linkedid) left in the recordings folder, if any (RecordingsService.leftBehind). */
  leftRecording?: (linkedid: string) => Promise<LeftRecording | undefined>;
}

const OPEN_CALLS_RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000];

const ADOPTED_VARS = ['RC_CALL_ID', 'RC_ACCOUNT', 'RC_USER'] as const;

/**
 * Feeds one PBX node's AMI events, strictly in arrival order, through the registrations tracker
 * and the call normaliser, and hands the results to the publisher and the recordings service.
 * After every (re)connect it resyncs: CoreShowChannels (calls gone while away end `reconciled`,
 * unknown live calls are adopted, their RC_* variables and running recordings read with Getvar)
 * and PJSIPShowContacts.
 * The resync's list items travel through the same ordered queue as live events, so a channel
 * that hangs up during the listing is never mistaken for a new one.
 */
export class PbxEventPipeline {
  private readonly queue: Item[] = [];
  private working = false;
  private sweepTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private readonly unsubscribe: Array<() => void> = [];
  private resyncWaiters: Array<() => void> = [];
  private resyncs = 0;
  private resyncsStarted = 0;

  constructor(
    private readonly session: AmiSession,
    private readonly normaliser: CallNormaliser,
    private readonly registrations: Registrations,
    private readonly sinks: PipelineSinks,
    private readonly ledger: OriginateLedger | undefined,
    private readonly logger: { log(m: string): void; warn(m: string): void; error(m: string): void; debug?(m: string): void },
    private readonly options: PipelineOptions = {},
  ) {}

  /** Subscribes to the session and starts it. */
  start(): void {
    this.unsubscribe.push(
      this.session.onEvent((message) => this.enqueue({ type: 'ami', message })),
      this.session.onReady(() => this.enqueue({ type: 'resync' })),
      this.session.onDown(() => this.registrations.invalidate()),
    );
    this.sweepTimer = setInterval(() => this.enqueue({ type: 'sweep' }), this.options.sweepMs ?? 30_000);
    this.sweepTimer.unref();
    // A periodic resync heals whatever a lost event might have left behind, even without a reconnect.
    this.resyncTimer = setInterval(() => {
      if (this.session.isReady) this.enqueue({ type: 'resync' });
    }, this.options.resyncEveryMs ?? 15 * 60_000);
    this.resyncTimer.unref();
    this.session.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.resyncTimer);
    for (const off of this.unsubscribe.splice(0)) off();
    await this.session.stop();
  }

  /** Number of completed resyncs (tests and health). */
  get resyncCount(): number {
    return this.resyncs;
  }

  /** Resolves after the next resync of channels and contacts completes (or false after `timeoutMs`). */
  nextResync(timeoutMs = 10_000): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.resyncWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Resolves when everything queued so far has been processed. */
  async idle(): Promise<void> {
    while (this.working || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private enqueue(item: Item): void {
    this.queue.push(item);
    if (!this.working) void this.work();
  }

  private async work(): Promise<void> {
    this.working = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift()!;
        try {
          await this.process(item);
        } catch (err) {
          // One bad event must not stop the flow of the others.
          this.logger.error(`telephony event processing failed: ${(err as Error).stack ?? String(err)}`);
        }
      }
    } finally {
      this.working = false;
    }
  }

  private async process(item: Item): Promise<void> {
    if (item.type === 'sweep') {
      await this.dispatch(this.normaliser.sweep());
      return;
    }
    if (item.type === 'resync') {
      this.startResync();
      return;
    }
    if (item.type === 'contacts-refused') {
      this.registrations.listRefused(item.actionId, item.message);
      return;
    }
    if (item.type === 'forgotten') {
      // Judged only against the resync it followed: since a newer one began (a reconnect), a live
      // call may be unknown only because the listing that adopts it is not complete yet.
      if (item.resync !== this.resyncsStarted || !this.session.isReady) return;
      const ended = this.normaliser.endForgotten(item.open, item.recordings);
      const calls = ended.filter((o) => o.kind === 'ended').length;
      const recorded = ended.length - calls;
      if (calls) this.logger.warn(`${calls} calls open in calls-service ended while this adapter was away: ended, reconciled (${recorded} by their recording's last write, with it stored; the rest now)`);
      await this.dispatch(ended);
      return;
    }
    const message = item.message;
    this.registrations.handle(message);
    if (eventName(message) === 'originateresponse') await this.recallIntent(message);
    await this.dispatch(this.normaliser.handle(message));
  }

  /** A failed OriginateResponse for an ActionID this process did not send: maybe another replica did (or we, before a restart). */
  private async recallIntent(message: AmiMessage): Promise<void> {
    const actionId = field(message, 'actionid');
    if (!this.ledger || !actionId || this.normaliser.hasIntent(actionId) || field(message, 'response').toLowerCase() === 'success') return;
    try {
      const intent = await this.ledger.findByActionId(actionId);
      if (intent) this.normaliser.registerIntent(intent);
    } catch (err) {
      this.logger.warn(`could not look up originate ${actionId}: ${(err as Error).message}`);
    }
  }

  private async dispatch(outputs: NormaliserOutput[]): Promise<void> {
    for (const output of outputs) {
      switch (output.kind) {
        case 'recording':
          this.sinks.recording(output.job);
          break;
        case 'record-channel':
          this.recordChannel(output.channel, output.file);
          break;
        case 'originate-result':
          this.ledger
            ?.recordOutcome(output.actionId, output.response, output.reason)
            .catch((err: Error) => this.logger.warn(`could not record originate outcome ${output.actionId}: ${err.message}`));
          break;
        case 'resynced':
          await this.adopt(output.adopted);
          this.resyncs++;
          void this.reconcileOpenCalls(this.resyncsStarted);
          this.logger.log(`resync done (${this.normaliser.liveChannels().length} live channels, ${output.adopted.length} calls adopted)`);
          // Waiters want contacts too; their list completes through this same queue, so no await here.
          void this.registrations.whenSynced(10_000).then(() => {
            for (const wake of this.resyncWaiters.splice(0)) wake();
          });
          break;
        default:
          this.sinks.publish(output);
      }
    }
  }

  /**
   * Starts MixMonitor on a channel, without holding up the events behind it. A refusal (the channel
   * hung up meanwhile) only costs that part of the recording: the call's recording is stored
   * without it.
   */
  private recordChannel(channel: string, file: string): void {
    this.session
      .action({ Action: 'MixMonitor', Channel: channel, File: file })
      .then((response) => {
        if (field(response, 'response').toLowerCase() !== 'success') {
          this.logger.warn(`recording not continued on ${channel} after a transfer: ${field(response, 'message') || field(response, 'response')}`);
        }
      })
      .catch((err: Error) => this.logger.warn(`recording not continued on ${channel} after a transfer: ${err.message}`));
  }

  /** Sends the resync actions; their answers come back through the event queue. */
  private startResync(): void {
    const channelsId = `rc-resync-${randomUUID()}`;
    const contactsId = `rc-contacts-${randomUUID()}`;
    this.resyncsStarted++;
    this.normaliser.beginResync(channelsId);
    this.registrations.beginResync(contactsId);
    const failed = (what: string) => (err: Error) => this.logger.warn(`resync ${what} failed: ${err.message}`);
    this.session
      .action({ Action: 'CoreShowChannels' }, { actionId: channelsId })
      .then((response) => {
        if (field(response, 'response').toLowerCase() !== 'success') {
          this.normaliser.abortResync();
          this.logger.error(`CoreShowChannels refused: ${field(response, 'message')}`);
        }
      })
      .catch(failed('CoreShowChannels'));
    this.session
      .action({ Action: 'PJSIPShowContacts' }, { actionId: contactsId })
      .then((response) => {
        if (field(response, 'response').toLowerCase() === 'success') return;
        // An Error answer ends the list: "No Contacts found" is an empty one (res_pjsip's ami_show_contacts).
        const message = field(response, 'message');
        this.enqueue({ type: 'contacts-refused', actionId: contactsId, message });
        if (!/no contacts found/i.test(message)) this.logger.error(`PJSIPShowContacts refused: ${message}`);
      })
      .catch(failed('PJSIPShowContacts'));
  }

  /**
   * Reads the calls held open elsewhere and queues them behind everything seen so far, so the
   * normaliser judges them against the resync just done and every event after it. Given up when a
   * newer resync has started (it reads them again) or after the last retry.
   */
  private async reconcileOpenCalls(resync: number): Promise<void> {
    const read = this.options.openCalls;
    if (!read) return;
    const delays = this.options.openCallsRetryMs ?? OPEN_CALLS_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const open = await read();
        this.enqueue({ type: 'forgotten', open, recordings: await this.leftRecordings(open), resync });
        return;
      } catch (err) {
        if (attempt >= delays.length || resync !== this.resyncsStarted) {
          this.logger.warn(`could not read the calls open in calls-service: ${(err as Error).message}; calls that ended while away stay active until the next resync`);
          return;
        }
        await new Promise((r) => setTimeout(r, delays[attempt]).unref());
      }
    }
  }

  /**
   * The recordings left behind by the open calls this process does not know (a known call stays
   * known, so the live ones — most of the list — are not looked up), by call id.
   */
  private async leftRecordings(open: OpenCall[]): Promise<Map<string, LeftRecording>> {
    const found = new Map<string, LeftRecording>();
    const look = this.options.leftRecording;
    if (!look) return found;
    for (const call of open) {
      if (!call.linkedid || this.normaliser.knows(call)) continue;
      const left = await look(call.linkedid).catch((err: Error) => void this.logger.warn(`recording of ${call.call_id}: ${err.message}`));
      if (left) found.set(call.call_id, left);
    }
    return found;
  }

  /**
   * Reads RC_* from each adopted call's first channel and the recording running on each of its
   * channels, then lets the normaliser start it.
   */
  private async adopt(adopted: AdoptedCall[]): Promise<void> {
    let open: Promise<OpenCall[]> | undefined;
    let recordingsFolder: Promise<string | undefined> | undefined;
    for (const call of adopted) {
      const vars: Record<string, string | undefined> = {};
      if (call.channel) for (const name of ADOPTED_VARS) vars[name] = await this.getvar(call.channel, name);
      this.normaliser.applyAdoptedVars(call.linkedid, vars);
      // calls-service, which holds the call open, knows how it began: the channels left may not
      // (a transfer took the employee's channel, its RC_* variables and what made the call outgoing).
      open ??= this.openCallsOnce();
      const known = (await open).find((c) => c.linkedid === call.linkedid);
      if (known) this.normaliser.applyKnownCall(call.linkedid, known);
      for (const channel of call.channels) {
        const recording = await this.getvar(channel, 'MIXMONITOR_FILENAME');
        if (recording) this.normaliser.adoptRecording(call.linkedid, channel, recording);
      }
      const rest = this.normaliser.lostItsRecording(call.linkedid)
        ? await this.recordingToContinue(call.linkedid, () => (recordingsFolder ??= this.getvar(undefined, 'RECDIR')))
        : undefined;
      await this.dispatch(this.normaliser.completeAdoption(call.linkedid, rest));
    }
  }

  /**
   * A call transferred while no adapter listened: its recording stopped with the employee's channel.
   * When the dial plan recorded it (its file is in the folder: an internal call is not recorded), the
   * rest goes where the dial plan records — its global RECDIR, read once per resync and only for
   * such a call.
   */
  private async recordingToContinue(linkedid: string, folder: () => Promise<string | undefined>): Promise<{ folder: string; left: LeftRecording } | undefined> {
    const left = await this.options.leftRecording?.(linkedid).catch((err: Error) => void this.logger.warn(`recording of the call ${linkedid}: ${err.message}`));
    if (!left) return undefined;
    const recdir = await folder();
    return recdir ? { folder: recdir, left } : undefined;
  }

  /** The calls held open in calls-service, read once per resync; none when it does not answer. */
  private async openCallsOnce(): Promise<OpenCall[]> {
    try {
      return (await this.options.openCalls?.()) ?? [];
    } catch (err) {
      this.logger.warn(`could not read the calls open in calls-service (adopted calls are described from their channels alone): ${(err as Error).message}`);
      return [];
    }
  }

  /**
   * A channel variable — a global one without a channel — undefined when unset or unreadable (the
   * channel may have gone meanwhile).
   */
  private async getvar(channel: string | undefined, name: string): Promise<string | undefined> {
    try {
      return getvarValue(await this.session.action({ Action: 'Getvar', ...(channel ? { Channel: channel } : {}), Variable: name }));
    } catch (err) {
      this.logger.debug?.(`Getvar ${name} on ${channel}: ${(err as Error).message}`);
      return undefined;
    }
  }
}

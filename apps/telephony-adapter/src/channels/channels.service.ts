import { DomainError } from '@ringcloud/contracts-common';
import { TelephonyChannelGet, TelephonyChannelList } from '@ringcloud/contracts-telephony';
import { AmiSession } from '../ami/ami-session';
import { CallNormaliser } from '../calls/call-normaliser';

/**
 * Live channels of an account, from the normaliser's channel map (kept by AMI events and
 * rebuilt by CoreShowChannels after every reconnect). A channel belongs to an account when its
 * context is the account's or its call is; anything else is NOT_FOUND, never "forbidden", so
 * other tenants' channels are not revealed.
 */
export class ChannelsService {
  constructor(
    private readonly session: AmiSession,
    private readonly normaliser: CallNormaliser,
    private readonly now: () => number = Date.now,
  ) {}

  list(accountId: number): TelephonyChannelList.Response {
    return this.ofAccount(accountId).map((c) => c.name);
  }

  get(accountId: number, channel: string): TelephonyChannelGet.Response {
    const found = this.ofAccount(accountId).find((c) => c.name === channel);
    if (!found) throw DomainError.notFound('Channel not found');
    return {
      Channel: found.name,
      CallerIDNum: found.callerIdNum,
      CallerIDName: found.callerIdName,
      ConnectedLineNum: found.connectedLineNum,
      ConnectedLineName: found.connectedLineName,
      Seconds: Math.max(0, Math.floor((this.now() - found.createdAt) / 1000)),
    };
  }

  private ofAccount(accountId: number) {
    // While disconnected the map is stale: better no answer than a wrong one.
    if (!this.session.isReady) throw DomainError.unavailable('the PBX is unavailable');
    return this.normaliser
      .liveChannels()
      .filter((c) => c.name && c.accounts.includes(accountId))
      .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  }
}

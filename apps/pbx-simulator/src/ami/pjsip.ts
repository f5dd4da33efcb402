import type { Header } from './protocol';
import { AmiMessage } from './protocol';
import type { ActionHandler, AmiSession } from './session';
import type { Contact } from '../engine/devices';
import type { CallEngine } from '../engine/engine';
import type { EndpointRow, Row } from '../realtime/repository';

/**
 * PJSIPShowEndpoint / PJSIPShowContacts as res_pjsip answers them (scenarios 21, 22). Values
 * come from the realtime rows; what the simulator has no column for keeps Asterisk's default.
 */

const yesNo = (v: unknown, fallback: boolean): string => {
  if (v === null || v === undefined || v === '') return String(fallback);
  return String(['yes', 'true', '1', 'on'].includes(String(v).toLowerCase()));
};
const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

const DEVICE_STATE_TEXT: Record<string, string> = {
  NOT_INUSE: 'Not in use',
  INUSE: 'In use',
  BUSY: 'Busy',
  UNAVAILABLE: 'Unavailable',
  RINGING: 'Ringing',
  RINGINUSE: 'Ring+Inuse',
  ONHOLD: 'On Hold',
  INVALID: 'Invalid',
};

const contactOf = (engine: CallEngine, ep: EndpointRow): Contact | undefined => engine.registrations.contact(ep.id);

/** RoundtripUsec as res_pjsip prints it: the last OPTIONS' round trip once reachable, else N/A. */
const rtt = (c: Contact) => (c.status === 'Reachable' ? String(c.rttUsec) : 'N/A');

function endpointDetail(engine: CallEngine, ep: EndpointRow): Header[] {
  const r = ep.raw;
  const state = engine.devices.pjsipState(ep.id);
  const active = engine.list().filter((c) => c.tech === 'PJSIP' && c.device === `PJSIP/${ep.id}`).length;
  const allow = ep.allow ? `(${ep.allow.split(/[,&]/).map((c) => c.trim()).filter(Boolean).join('|')})` : '(nothing)';
  // Header order and defaults as Asterisk 22 printed them in scenario 21.
  return [
    ['ObjectType', 'endpoint'],
    ['ObjectName', ep.id],
    ['RpidImmediate', 'false'],
    ['Webrtc', 'no'],
    ['Ignore183WithoutSdp', 'false'],
    ['SendAoc', 'false'],
    ['DeviceStateBusyAt', '0'],
    ['T38UdptlMaxdatagram', '0'],
    ['CodecPrefsIncomingAnswer', 'prefer:pending, operation:intersect, keep:all, transcode:allow'],
    ['SecurityNegotiation', 'no'],
    ['DtlsRekey', '0'],
    ['RtpPortEnd', '0'],
    ['NamedPickupGroup', ''],
    ['DirectMediaMethod', 'invite'],
    ['SendRpid', 'false'],
    ['PickupGroup', ''],
    ['SdpSession', 'Asterisk'],
    ['DtlsVerify', 'No'],
    ['MessageContext', ''],
    ['Tenantid', ''],
    ['Mailboxes', str(ep.mailboxes)],
    ['RecordOnFeature', 'automixmon'],
    ['DtlsPrivateKey', ''],
    ['DtlsFingerprint', 'SHA-256'],
    ['OverlapContext', ''],
    ['OutgoingCallOfferPref', 'remote_merge'],
    ['RtpPortStart', '0'],
    ['FromDomain', ''],
    ['TimersSessExpires', '1800'],
    ['NamedCallGroup', ''],
    ['DtlsCipher', ''],
    ['MediaEncryptionOptimistic', 'false'],
    ['SuppressQ850ReasonHeaders', 'false'],
    ['Aors', str(ep.aors)],
    ['IdentifyBy', 'username,ip'],
    ['CalleridPrivacy', 'allowed_not_screened'],
    ['MwiSubscribeReplacesUnsolicited', 'no'],
    ['CosAudio', '0'],
    ['FollowEarlyMediaFork', 'true'],
    ['Context', ep.context ?? 'default'],
    ['RtpSymmetric', yesNo(r.rtp_symmetric, false)],
    ['Transport', str(ep.transport)],
    ['MohSuggest', 'default'],
    ['T38Udptl', 'false'],
    ['FaxDetect', 'false'],
    ['T38BindUdptlToMediaAddress', 'false'],
    ['TosVideo', '0'],
    ['SrtpTag32', 'false'],
    ['ReferBlindProgress', 'true'],
    ['MaxAudioStreams', '1'],
    ['Bundle', 'false'],
    ['UseAvpf', 'false'],
    ['CallGroup', ''],
    ['SendConnectedLine', 'yes'],
    ['FaxDetectTimeout', '0'],
    ['SdpOwner', '-'],
    ['ForceRport', yesNo(r.force_rport, true)],
    ['CalleridTag', ''],
    ['RtpTimeoutHold', '0'],
    ['SuppressMohOnSendonly', 'false'],
    ['UsePtime', 'false'],
    ['MediaAddress', str(r.media_address)],
    ['VoicemailExtension', ''],
    ['RtpTimeout', '0'],
    ['StirShaken', 'no'],
    ['SetVar', ''],
    ['ContactAcl', ''],
    ['PreferredCodecOnly', 'false'],
    ['GeolocOutgoingCallProfile', ''],
    ['ForceAvp', 'false'],
    ['RecordOffFeature', 'automixmon'],
    ['FromUser', ''],
    ['SendDiversion', 'true'],
    ['SendHistoryInfo', 'false'],
    ['T38UdptlIpv6', 'false'],
    ['ToneZone', ''],
    ['Language', ''],
    ['AllowSubscribe', 'true'],
    ['RtpIpv6', 'false'],
    ['Callerid', str(ep.callerid)],
    ['MohPassthrough', 'false'],
    ['CosVideo', '0'],
    ['DtlsAutoGenerateCert', 'No'],
    ['AsymmetricRtpCodec', 'false'],
    ['GeolocIncomingCallProfile', ''],
    ['IceSupport', 'false'],
    ['AggregateMwi', 'true'],
    ['OneTouchRecording', 'false'],
    ['MwiFromUser', ''],
    ['RedirectMethod', 'user'],
    ['Accountcode', str(ep.accountcode)],
    ['CodecPrefsOutgoingAnswer', 'prefer:pending, operation:intersect, keep:all, transcode:allow'],
    ['Allow', allow],
    ['RewriteContact', yesNo(r.rewrite_contact, false)],
    ['UserEqPhone', 'false'],
    ['RtpEngine', 'asterisk'],
    ['FollowRedirectMethods', ''],
    ['SubscribeContext', ''],
    ['NotifyEarlyInuseRinging', 'false'],
    ['IncomingMwiMailbox', ''],
    ['IncomingCallOfferPref', 'local'],
    ['AllowUnauthenticatedOptions', 'false'],
    ['Auth', str(ep.auth)],
    ['DirectMediaGlareMitigation', 'none'],
    ['TrustIdInbound', 'false'],
    ['StirShakenProfile', ''],
    ['BindRtpToMediaAddress', yesNo(r.bind_rtp_to_media_address, false)],
    ['DisableDirectMediaOnNat', 'false'],
    ['MediaEncryption', 'no'],
    ['MediaUseReceivedTransport', 'false'],
    ['AllowOverlap', 'true'],
    ['DtmfMode', str(r.dtmf_mode) || 'rfc4733'],
    ['OutboundAuth', ''],
    ['TosAudio', '0'],
    ['DtlsCertFile', ''],
    ['DtlsCaPath', ''],
    ['DtlsSetup', 'active'],
    ['ConnectedLineMethod', 'invite'],
    ['G726NonStandard', 'false'],
    ['100rel', 'yes'],
    ['Timers', 'yes'],
    ['DirectMedia', yesNo(r.direct_media, true)],
    ['Acl', ''],
    ['TimersMinSe', '90'],
    ['TrustIdOutbound', 'false'],
    ['SubMinExpiry', '0'],
    ['RtcpMux', 'false'],
    ['MaxVideoStreams', '1'],
    ['AcceptMultipleSdpAnswers', 'false'],
    ['CodecPrefsIncomingOffer', 'prefer:pending, operation:intersect, keep:all, transcode:allow'],
    ['CodecPrefsOutgoingOffer', 'prefer:pending, operation:union, keep:all, transcode:allow'],
    ['TrustConnectedLine', 'yes'],
    ['SendPai', 'false'],
    ['RtpKeepalive', '0'],
    ['T38UdptlEc', 'none'],
    ['T38UdptlNat', 'false'],
    ['AllowTransfer', 'true'],
    ['DtlsCaFile', ''],
    ['OutboundProxy', ''],
    ['InbandProgress', 'false'],
    ['DeviceState', DEVICE_STATE_TEXT[state] ?? 'Unknown'],
    ['ActiveChannels', String(active)],
  ];
}

function authDetail(auth: Row, endpoint: string): Header[] {
  return [
    ['ObjectType', 'auth'],
    ['ObjectName', str(auth.id)],
    ['OauthSecret', ''],
    // res_pjsip prints an md5 credential as the password digest (fixtures 30, 31).
    ['PasswordDigest', str(auth.auth_type) === 'md5' && str(auth.md5_cred) ? `MD5:${str(auth.md5_cred)}` : ''],
    ['SupportedAlgorithmsUas', 'MD5'],
    ['RefreshToken', ''],
    ['Username', str(auth.username)],
    ['Md5Cred', str(auth.md5_cred)],
    ['Realm', str(auth.realm)],
    ['AuthType', str(auth.auth_type) || 'userpass'],
    ['Password', str(auth.password)],
    ['SupportedAlgorithmsUac', 'MD5'],
    ['NonceLifetime', str(auth.nonce_lifetime) || '32'],
    ['OauthClientid', ''],
    ['EndpointName', endpoint],
  ];
}

function transportDetail(name: string, endpoint: string): Header[] {
  return [
    ['ObjectType', 'transport'],
    ['ObjectName', name],
    ['WebsocketWriteTimeout', '100'],
    ['Cos', '0'],
    ['TcpKeepaliveEnable', 'false'],
    ['Protocol', 'udp'],
    ['SymmetricTransport', 'false'],
    ['Domain', ''],
    ['VerifyServer', 'No'],
    ['LocalNet', ''],
    ['Bind', '127.0.0.1:5060'],
    ['AllowWildcardCerts', 'No'],
    ['TcpKeepaliveIntervalTime', '1'],
    ['AsyncOperations', '1'],
    ['ExternalMediaAddress', ''],
    ['Method', 'unspecified'],
    ['ExternalSignalingAddress', ''],
    ['RequireClientCert', 'No'],
    ['TcpKeepaliveIdleTime', '30'],
    ['Tos', '0'],
    ['CaListPath', ''],
    ['Cipher', ''],
    ['CertFile', ''],
    ['ExternalSignalingPort', '0'],
    ['Password', ''],
    ['AllowReload', 'false'],
    ['VerifyClient', 'No'],
    ['TcpKeepaliveProbeCount', '5'],
    ['PrivKeyFile', ''],
    ['CaListFile', ''],
    ['EndpointName', endpoint],
  ];
}

function aorDetail(aor: Row, contact: Contact | undefined, endpoint: string): Header[] {
  const n = contact ? '1' : '0';
  return [
    ['ObjectType', 'aor'],
    ['ObjectName', str(aor.id)],
    ['MinimumExpiration', str(aor.minimum_expiration) || '60'],
    ['DefaultExpiration', str(aor.default_expiration) || '3600'],
    ['QualifyTimeout', '3.000000'],
    ['Qualify2xxOnly', 'false'],
    ['Mailboxes', str(aor.mailboxes)],
    ['SupportPath', 'false'],
    ['RemoveUnavailable', 'false'],
    ['VoicemailExtension', ''],
    ['MaxContacts', str(aor.max_contacts) || '0'],
    ['AuthenticateQualify', 'false'],
    ['Contacts', contact ? `${contact.aor}/${contact.uri}` : ''],
    ['MaximumExpiration', '7200'],
    ['QualifyFrequency', str(aor.qualify_frequency) || '0'],
    ['RemoveExisting', yesNo(aor.remove_existing, false)],
    ['OutboundProxy', ''],
    ['TotalContacts', n],
    ['ContactsRegistered', n],
    ['EndpointName', endpoint],
  ];
}

function contactStatusDetail(c: Contact, endpoint: string): Header[] {
  return [
    ['AOR', c.aor],
    ['URI', c.uri],
    ['UserAgent', c.userAgent],
    ['RegExpire', String(c.expires)],
    ['ViaAddress', `${c.viaAddr}:${c.viaPort}`],
    ['CallID', c.callId],
    ['Status', c.status],
    ['RoundtripUsec', rtt(c)],
    ['EndpointName', endpoint],
    ['ID', c.id],
    ['AuthenticateQualify', '0'],
    ['OutboundProxy', ''],
    ['Path', ''],
    ['QualifyFrequency', String(c.qualifyFrequency)],
    ['QualifyTimeout', '3.000'],
    ['Qualify2xxOnly', '0'],
  ];
}

function contactList(c: Contact, endpoint: string): Header[] {
  return [
    ['ObjectType', 'contact'],
    ['ObjectName', c.id],
    ['ViaAddr', c.viaAddr],
    ['QualifyTimeout', '3.000000'],
    ['Qualify2xxOnly', 'false'],
    ['CallId', c.callId],
    ['RegServer', ''],
    ['PruneOnBoot', 'no'],
    ['Path', ''],
    ['Endpoint', endpoint],
    ['ViaPort', c.viaPort],
    ['AuthenticateQualify', 'no'],
    ['Uri', c.uri],
    ['QualifyFrequency', String(c.qualifyFrequency)],
    ['UserAgent', c.userAgent],
    ['ExpirationTime', String(c.expires)],
    ['OutboundProxy', ''],
    ['Status', c.status],
    ['RoundtripUsec', rtt(c)],
  ];
}

const ids = (m: AmiMessage): Header[] => {
  const id = m.get('ActionID');
  return id !== undefined ? [['ActionID', id]] : [];
};

export function pjsipActions(engine: CallEngine): Record<string, ActionHandler> {
  return {
    pjsipshowcontacts: async (s: AmiSession, m: AmiMessage) => {
      // ami_show_contacts: every contact sorcery knows (registered ones; permanent contacts are not listed).
      const contacts: [Contact, string][] = engine.registrations.all().map((c) => [c, c.endpoint]);
      if (contacts.length === 0) {
        // res_pjsip's message carries its own "\n", so the reply ends "found\n\r\n\r\n" (scenario 21's bytes).
        const actionId = m.get('ActionID');
        s.writeRaw(`Response: Error\r\n${actionId !== undefined ? `ActionID: ${actionId.replace(/[\r\n]/g, ' ')}\r\n` : ''}Message: No Contacts found\n\r\n\r\n`);
        return;
      }
      s.respond(m, 'Success', [['EventList', 'start'], ['Message', 'A listing of Contacts follows, presented as ContactList events']]);
      for (const [c, endpoint] of contacts) s.send([['Event', 'ContactList'], ...ids(m), ...contactList(c, endpoint)]);
      s.send([['Event', 'ContactListComplete'], ...ids(m), ['EventList', 'Complete'], ['ListItems', String(contacts.length)]]);
    },

    pjsipshowendpoint: async (s: AmiSession, m: AmiMessage) => {
      const name = m.get('Endpoint');
      if (!name) return s.respond(m, 'Error', [['Message', 'Endpoint parameter missing.']]);
      const ep = await engine.findEndpoint(name);
      if (!ep) return s.respond(m, 'Error', [['Message', `Unable to retrieve endpoint ${name}`]]);
      const contact = contactOf(engine, ep);
      const events: Header[][] = [[['Event', 'EndpointDetail'], ...ids(m), ...endpointDetail(engine, ep)]];
      for (const authId of str(ep.auth).split(',').map((a) => a.trim()).filter(Boolean)) {
        const auth = await engine.realtime.findAuth(authId);
        if (auth) events.push([['Event', 'AuthDetail'], ...ids(m), ...authDetail(auth, ep.id)]);
      }
      if (ep.transport) events.push([['Event', 'TransportDetail'], ...ids(m), ...transportDetail(ep.transport, ep.id)]);
      for (const aorId of str(ep.aors).split(',').map((a) => a.trim()).filter(Boolean)) {
        const aor = await engine.phones.findAor(aorId);
        if (aor) events.push([['Event', 'AorDetail'], ...ids(m), ...aorDetail(aor, contact?.aor === aorId ? contact : undefined, ep.id)]);
      }
      if (contact) events.push([['Event', 'ContactStatusDetail'], ...ids(m), ...contactStatusDetail(contact, ep.id)]);
      s.respond(m, 'Success', [['EventList', 'start'], ['Message', 'Following are Events for each object associated with the Endpoint']]);
      for (const e of events) s.send(e);
      s.send([['Event', 'EndpointDetailComplete'], ...ids(m), ['EventList', 'Complete'], ['ListItems', String(events.length)]]);
    },
  };
}

import { amiFrame } from '../testing/fake-ami-server';
import { parseFrames, readFixture } from '../testing/ami-frames';
import { Registrations } from './registrations';

const feed = (registrations: Registrations, text: string) => parseFrames(text).forEach((m) => registrations.handle(m));
const fixture = (name: string) => readFixture(name, 'rx').toString('utf8');

describe('Registrations', () => {
  it('reads a registered phone from the real PJSIPShowContacts answer (fixture 22)', () => {
    const registrations = new Registrations();
    registrations.beginResync('pc');
    feed(registrations, fixture('22-device-state-registered'));
    expect(registrations.isSynced).toBe(true);
    expect(registrations.isRegistered('1679728441')).toBe(true);
    expect(registrations.isRegistered('1000000000')).toBe(false);
  });

  it('knows a phone registered after provisioning from ContactStatus, while DEVICE_STATE still says UNAVAILABLE (fixture 31)', () => {
    const registrations = new Registrations();
    registrations.beginResync('list');
    registrations.listRefused('list', 'No Contacts found');
    expect(registrations.isSynced).toBe(true);
    const messages = parseFrames(fixture('31-device-state-with-qualify'));
    const nonQualified = messages.findIndex((m) => m.event === 'ContactStatus');
    messages.slice(0, nonQualified).forEach((m) => registrations.handle(m));
    expect(registrations.isRegistered('labtest4')).toBe(false);
    registrations.handle(messages[nonQualified]);
    expect(messages[nonQualified].contactstatus).toBe('NonQualified');
    expect(registrations.isRegistered('labtest4')).toBe(true);
    messages.slice(nonQualified + 1).forEach((m) => registrations.handle(m));
    expect(registrations.isRegistered('labtest4')).toBe(true);
  });

  it('forgets removed contacts and does not ring unreachable ones (Asterisk skips them too)', () => {
    const registrations = new Registrations();
    const status = (ContactStatus: string, URI = 'sip:2222222222@10.0.0.5:5060') =>
      feed(registrations, amiFrame({ Event: 'ContactStatus', URI, ContactStatus, AOR: '2222222222', EndpointName: '2222222222', RoundtripUsec: '0' }));
    status('NonQualified');
    expect(registrations.isRegistered('2222222222')).toBe(true);
    status('Unreachable');
    expect(registrations.isRegistered('2222222222')).toBe(false);
    status('Reachable');
    status('NonQualified', 'sip:2222222222@10.0.0.6:5060');
    status('Removed');
    expect(registrations.isRegistered('2222222222')).toBe(true); // the second contact is still there
    status('Removed', 'sip:2222222222@10.0.0.6:5060');
    expect(registrations.isRegistered('2222222222')).toBe(false);
    expect(registrations.registeredEndpoints()).toEqual([]);
  });

  it('replaces its map at each listing, keeping changes that arrived during it', async () => {
    const registrations = new Registrations();
    const contact = (ActionID: string, Endpoint: string) =>
      amiFrame({ Event: 'ContactList', ActionID, ObjectType: 'contact', ObjectName: `${Endpoint};@abc`, Endpoint, Uri: `sip:${Endpoint}@10.0.0.1`, Status: 'Reachable' });
    feed(registrations, amiFrame({ Event: 'ContactStatus', URI: 'sip:1111111111@x', ContactStatus: 'NonQualified', EndpointName: '1111111111' }));
    registrations.invalidate();
    const synced = registrations.whenSynced(1000);
    registrations.beginResync('pc-2');
    feed(registrations, contact('pc-2', '2222222222'));
    feed(registrations, contact('other', '4444444444'));
    feed(registrations, amiFrame({ Event: 'ContactStatus', URI: 'sip:3333333333@x', ContactStatus: 'NonQualified', EndpointName: '3333333333' }));
    expect(registrations.isSynced).toBe(false);
    feed(registrations, amiFrame({ Event: 'ContactListComplete', ActionID: 'other' }));
    expect(registrations.isSynced).toBe(false);
    feed(registrations, amiFrame({ Event: 'ContactListComplete', ActionID: 'pc-2', EventList: 'Complete', ListItems: '1' }));
    await expect(synced).resolves.toBe(true);
    expect(registrations.registeredEndpoints().sort()).toEqual(['2222222222', '3333333333']);
    registrations.invalidate();
    await expect(registrations.whenSynced(50)).resolves.toBe(false);
  });

  it('stays unsynced when the listing is refused for another reason', () => {
    const registrations = new Registrations();
    registrations.beginResync('pc');
    registrations.listRefused('pc', 'Permission denied');
    expect(registrations.isSynced).toBe(false);
  });
});

import { amiFrame } from '../testing/fake-ami-server';
import { parseFrames, readFixture } from '../testing/ami-frames';
import { DeviceStates } from './device-states';

const feed = (devices: DeviceStates, text: string) => parseFrames(text).forEach((m) => devices.handle(m));

describe('DeviceStates', () => {
  it('reads an unregistered phone from the real DeviceStateList answer (fixture 21)', () => {
    const devices = new DeviceStates();
    devices.beginResync('ds');
    feed(devices, readFixture('21-device-state-unregistered', 'rx').toString('utf8'));
    expect(devices.isSynced).toBe(true);
    expect(devices.stateOf('PJSIP/1679728441')).toBe('UNAVAILABLE');
    expect(devices.isReachable('PJSIP/1679728441')).toBe(false);
  });

  it('reads a registered phone (fixture 22) and follows live changes', () => {
    const devices = new DeviceStates();
    devices.beginResync('ds');
    feed(devices, readFixture('22-device-state-registered', 'rx').toString('utf8'));
    expect(devices.isReachable('PJSIP/1679728441')).toBe(true);
    feed(devices, amiFrame({ Event: 'DeviceStateChange', Device: 'PJSIP/1679728441', State: 'UNAVAILABLE' }));
    expect(devices.isReachable('PJSIP/1679728441')).toBe(false);
    expect(devices.isReachable('PJSIP/1000000000')).toBe(false); // never seen: not registered
  });

  it('replaces its map at each resync, keeping changes that arrived during the listing', async () => {
    const devices = new DeviceStates();
    feed(devices, amiFrame({ Event: 'DeviceStateChange', Device: 'PJSIP/1111111111', State: 'NOT_INUSE' }));
    devices.invalidate();
    const synced = devices.whenSynced(1000);
    devices.beginResync('ds-2');
    feed(devices, amiFrame({ Event: 'DeviceStateChange', ActionID: 'ds-2', Device: 'PJSIP/2222222222', State: 'NOT_INUSE' }));
    feed(devices, amiFrame({ Event: 'DeviceStateChange', Device: 'PJSIP/3333333333', State: 'RINGING' }));
    expect(devices.isSynced).toBe(false);
    feed(devices, amiFrame({ Event: 'DeviceStateListComplete', ActionID: 'other' }));
    expect(devices.isSynced).toBe(false);
    feed(devices, amiFrame({ Event: 'DeviceStateListComplete', ActionID: 'ds-2', EventList: 'Complete' }));
    await expect(synced).resolves.toBe(true);
    expect(devices.stateOf('PJSIP/1111111111')).toBeUndefined();
    expect(devices.isReachable('PJSIP/2222222222')).toBe(true);
    expect(devices.isReachable('PJSIP/3333333333')).toBe(true);
    devices.invalidate();
    await expect(devices.whenSynced(50)).resolves.toBe(false);
  });
});

import { pcmWav, readWavInfo } from './wav';

describe('readWavInfo', () => {
  it('reads the length of an 8 kHz 16-bit mono PCM file', () => {
    const file = pcmWav(8000 * 3 + 4000); // 3.5 s
    expect(readWavInfo(file, file.length)).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16, durationS: 3.5 });
  });

  it('uses the real data length when the header was never finalised', () => {
    const file = pcmWav(8000);
    file.writeUInt32LE(0, 40);
    expect(readWavInfo(file, file.length)?.durationS).toBe(1);
    file.writeUInt32LE(0xffffffff, 40);
    expect(readWavInfo(file, file.length)?.durationS).toBe(1);
    // Only the head was read, the file is longer: the size on disk counts.
    expect(readWavInfo(file.subarray(0, 64), file.length + 16000)?.durationS).toBe(2);
  });

  it('skips unknown chunks and refuses what is not WAV', () => {
    const plain = pcmWav(800);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([4, 0, 0, 0]), Buffer.from('INFO')]);
    const withList = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
    expect(readWavInfo(withList, withList.length)?.durationS).toBe(0.1);
    expect(readWavInfo(Buffer.from('not a wav file at all'), 21)).toBeNull();
    expect(readWavInfo(Buffer.alloc(0), 0)).toBeNull();
  });
});

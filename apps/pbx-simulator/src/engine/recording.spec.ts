import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SAMPLE_RATE, toneWav, wavDuration, writeRecording } from './recording';

describe('recordings', () => {
  it('writes a valid 8 kHz 16-bit mono PCM WAV of the requested length', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wav-'));
    try {
      const file = path.join(dir, 'sub', '1795700987.2.wav');
      await writeRecording(file, 2.5);
      const buf = readFileSync(file);
      expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
      expect(buf.readUInt32LE(4)).toBe(buf.length - 8);
      expect(buf.toString('ascii', 8, 16)).toBe('WAVEfmt ');
      expect(buf.readUInt16LE(20)).toBe(1); // PCM
      expect(buf.readUInt16LE(22)).toBe(1); // mono
      expect(buf.readUInt32LE(24)).toBe(SAMPLE_RATE);
      expect(buf.readUInt16LE(34)).toBe(16);
      expect(buf.toString('ascii', 36, 40)).toBe('data');
      expect(buf.readUInt32LE(40)).toBe(buf.length - 44);
      expect(wavDuration(buf)).toBe(2.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds a 440 Hz beep in the first 300 ms of every second and silence after it', () => {
    const buf = toneWav(1);
    const sample = (i: number) => buf.readInt16LE(44 + i * 2);
    const peak = (from: number, to: number) => Math.max(...Array.from({ length: to - from }, (_v, k) => Math.abs(sample(from + k))));
    expect(peak(0, 2000)).toBeGreaterThan(7000);
    expect(peak(2500, 8000)).toBe(0);
  });

  it('rejects what is not a WAV', () => {
    expect(() => wavDuration(Buffer.from('not a wav file at all, certainly not one with a RIFF header'))).toThrow(/not a WAV/);
  });
});

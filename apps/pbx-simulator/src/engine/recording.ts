import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SAMPLE_RATE = 8000;

/**
 * A real 8 kHz, 16-bit, mono PCM WAV of `seconds`: the dial plan's beep (Playtones 440/300,0/700:
 * 300 ms of 440 Hz every second), so a recording is audible and its length is checkable.
 */
export function toneWav(seconds: number): Buffer {
  const samples = Math.max(0, Math.round(seconds * SAMPLE_RATE));
  const dataBytes = samples * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(SAMPLE_RATE, 24);
  buf.writeUInt32LE(SAMPLE_RATE * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples; i++) {
    const inBeep = i % SAMPLE_RATE < 0.3 * SAMPLE_RATE;
    const v = inBeep ? Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE)) : 0;
    buf.writeInt16LE(v, 44 + i * 2);
  }
  return buf;
}

/** Writes the file under a temporary name and renames it, so a reader never sees half a file. */
export async function writeRecording(file: string, seconds: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.part`;
  await writeFile(tmp, toneWav(seconds));
  await rename(tmp, file);
}

/** Duration in seconds of a PCM WAV produced by toneWav (for checks). */
export function wavDuration(buf: Buffer): number {
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  const byteRate = buf.readUInt32LE(28);
  return buf.readUInt32LE(40) / byteRate;
}

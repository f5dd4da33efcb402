export interface WavInfo {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  byteRate: number;
  /** Where the audio starts in the file (the data chunk's body). */
  dataOffset: number;
  dataBytes: number;
  durationS: number;
}

/**
 * Reads a RIFF/WAVE header (the first bytes of the file) and the audio length it implies.
 * A data size of 0 or 0xFFFFFFFF (header not finalised by a writer that was cut off) or one
 * beyond the file is replaced by what the file really holds. Null when it is not a WAV file.
 */
export function readWavInfo(head: Buffer, fileSize: number): WavInfo | null {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return null;
  let offset = 12;
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'durationS'> | undefined;
  while (offset + 8 <= head.length) {
    const id = head.toString('ascii', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= head.length) {
      fmt = {
        audioFormat: head.readUInt16LE(body),
        channels: head.readUInt16LE(body + 2),
        sampleRate: head.readUInt32LE(body + 4),
        byteRate: head.readUInt32LE(body + 8),
        bitsPerSample: head.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt || fmt.byteRate === 0) return null;
      const available = Math.max(0, fileSize - body);
      const dataBytes = size === 0 || size === 0xffffffff || size > available ? available : size;
      return { ...fmt, dataOffset: body, dataBytes, durationS: Math.round((dataBytes / fmt.byteRate) * 1000) / 1000 };
    }
    offset = body + size + (size % 2); // chunks are word-aligned
  }
  return null;
}

/** A PCM WAV file (tests, and the shape Asterisk's `wav` format writes: 8 kHz 16-bit mono). */
export function pcmWav(samples: Int16Array | number, sampleRate = 8000): Buffer {
  const data = typeof samples === 'number' ? new Int16Array(samples) : samples;
  const header = wavHeader({ audioFormat: 1, channels: 1, sampleRate, bitsPerSample: 16 }, data.byteLength);
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export type WavFormat = Pick<WavInfo, 'audioFormat' | 'channels' | 'sampleRate' | 'bitsPerSample'>;

/** The 44-byte header of a WAV file holding `dataBytes` of audio in this format. */
export function wavHeader(format: WavFormat, dataBytes: number): Buffer {
  const blockAlign = format.channels * Math.ceil(format.bitsPerSample / 8);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format.audioFormat, 20);
  header.writeUInt16LE(format.channels, 22);
  header.writeUInt32LE(format.sampleRate, 24);
  header.writeUInt32LE(format.sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(format.bitsPerSample, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** Whether two WAV files' audio can be joined byte for byte (same encoding, rate, channels, sample size). */
export function sameWavFormat(a: WavFormat, b: WavFormat): boolean {
  return a.audioFormat === b.audioFormat && a.channels === b.channels && a.sampleRate === b.sampleRate && a.bitsPerSample === b.bitsPerSample;
}

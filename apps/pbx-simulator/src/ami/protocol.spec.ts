import { AmiParser, OversizeMessageError, serialize, splitServerStream } from './protocol';

describe('AMI protocol', () => {
  it('parses CRLF messages, keeps repeated headers and finds headers case-insensitively', () => {
    const p = new AmiParser();
    const [m] = p.push('Action: Originate\r\nchannel: Local/100@agents\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n');
    expect(m.get('Channel')).toBe('Local/100@agents');
    expect(m.getAll('variable')).toEqual(['A=1', 'B=2']);
  });

  it('assembles messages split across chunks and accepts bare LF line ends', () => {
    const p = new AmiParser();
    expect(p.push('Action: Pi')).toEqual([]);
    expect(p.push('ng\nActionID: 7\n')).toEqual([]);
    const [m] = p.push('\n');
    expect(m.headers).toEqual([
      ['Action', 'Ping'],
      ['ActionID', '7'],
    ]);
  });

  it('ignores blank lines between messages and lines without a colon', () => {
    const msgs = new AmiParser().push('\r\n\r\ngarbage line\r\nAction: Ping\r\n\r\n\r\nAction: Logoff\r\n\r\n');
    expect(msgs.map((m) => m.get('Action'))).toEqual(['Ping', 'Logoff']);
    expect(msgs[0].headers).toHaveLength(1);
  });

  it('refuses an oversize line, message or header count', () => {
    const limits = { maxLineBytes: 100, maxMessageBytes: 300, maxHeaders: 5 };
    expect(() => new AmiParser(limits).push(`Action: ${'x'.repeat(200)}`)).toThrow(OversizeMessageError);
    // Four 90-byte lines: each under the line limit, together over the message limit.
    expect(() => new AmiParser(limits).push(`X: ${'y'.repeat(86)}\r\n`.repeat(4))).toThrow(/message over/);
    expect(() => new AmiParser(limits).push('A: 1\r\n'.repeat(6))).toThrow(/headers/);
  });

  it('serializes headers with CRLF and a blank line, and cannot be made to inject a header', () => {
    expect(serialize([['Response', 'Success'], ['Message', 'ok']])).toBe('Response: Success\r\nMessage: ok\r\n\r\n');
    const text = serialize([['Value', 'a\r\nEvent: Fake\r\n']]);
    expect(text).toBe('Value: a Event: Fake \r\n\r\n');
    expect(new AmiParser().push(text)[0].getAll('Event')).toEqual([]);
  });

  it('splits a server stream into the banner and messages', () => {
    const { banner, messages } = splitServerStream('Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nMessage: \r\n\r\nEvent: X\r\n\r\n');
    expect(banner).toBe('Asterisk Call Manager/11.0.0');
    expect(messages.map((m) => m.headers)).toEqual([[['Response', 'Success'], ['Message', '']], [['Event', 'X']]]);
  });
});

import { parseRange } from './file-answer';
import { HttpProblem } from './http-problem';

describe('parseRange', () => {
  it('reads the single-range forms', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
  });

  it('serves the whole file for forms it does not take', () => {
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=-', 100)).toBeUndefined();
  });

  it('answers 416 for ranges outside the file', () => {
    for (const header of ['bytes=100-', 'bytes=200-300', 'bytes=9-3']) {
      expect(() => parseRange(header, 100)).toThrow(HttpProblem);
      try {
        parseRange(header, 100);
      } catch (err) {
        expect((err as HttpProblem).status).toBe(416);
        expect((err as HttpProblem).headers['Content-Range']).toBe('bytes */100');
      }
    }
  });
});

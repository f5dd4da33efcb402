import { createHash, randomBytes } from 'node:crypto';

// The page's own MD5 (a browser ES module), checked against Node's.
const { md5 } = require('./static/md5.js') as { md5: (text: string) => string };

describe("the account page's md5", () => {
  it('equals Node crypto on the spec example, edge lengths, Unicode and random strings', () => {
    const samples = ['', 'a', 'abc', '1001_a1b2c3s3cret', 'пароль-密码-🔑', 'x'.repeat(55), 'x'.repeat(56), 'x'.repeat(64), 'y'.repeat(1000)];
    for (let i = 0; i < 200; i++) samples.push(randomBytes(1 + (i % 90)).toString('base64'));
    for (const text of samples) expect(md5(text)).toBe(createHash('md5').update(text, 'utf8').digest('hex'));
    expect(md5('1001_a1b2c3s3cret')).toBe(createHash('md5').update('1001_a1b2c3s3cret').digest('hex'));
  });
});

// A self-signed TLS certificate for nginx in development and tests, made with Node's own crypto:
// nothing to install (no openssl binary), so it runs in the stack's own app image, as user node,
// offline. Real deployments mount their own certificate instead.
//   node docker/selfsigned-cert.cjs DIR     → DIR/tls.crt, DIR/tls.key (both kept when they exist)
//   TLS_SAN=DNS:localhost,IP:127.0.0.1       the names it is valid for (the first is also the CN)
//   TLS_DAYS=825                             validity
// ECDSA P-256 with SHA-256, X.509 v3 with subjectAltName and basicConstraints CA:TRUE (so clients can
// trust it directly, like `openssl req -x509` would make it).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

// --- DER, just what a certificate needs --------------------------------------------------------
function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...parts) => tlv(0x30, ...parts);
const set = (...parts) => tlv(0x31, ...parts);
const int = (buf) => tlv(0x02, buf[0] & 0x80 ? Buffer.concat([Buffer.from([0]), buf]) : buf);
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (buf) => tlv(0x04, buf);
const bits = (buf) => tlv(0x03, Buffer.from([0]), buf);
const utf8 = (s) => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n, ...parts) => tlv(0xa0 + n, ...parts);
function oid(dotted) {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}
function time(date) {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

function ipBytes(ip) {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!net.isIPv6(ip) || ip.includes('.')) throw new Error(`not an IP address: ${ip}`);
  const [head, tail = ''] = ip.split('::');
  const groups = (s) => (s ? s.split(':') : []);
  const missing = ip.includes('::') ? 8 - groups(head).length - groups(tail).length : 0;
  const all = [...groups(head), ...Array(missing).fill('0'), ...groups(tail)];
  return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

/** "DNS:a,IP:1.2.3.4" → the GeneralNames of a subjectAltName, and the first name (the CN). */
function parseSan(san) {
  const entries = san.split(',').map((s) => s.trim()).filter(Boolean);
  if (!entries.length) throw new Error('TLS_SAN is empty');
  const names = entries.map((entry) => {
    const [kind, ...rest] = entry.split(':');
    const value = rest.join(':');
    if (/^DNS$/i.test(kind) && value) return tlv(0x82, Buffer.from(value, 'ascii'));
    if (/^IP$/i.test(kind) && value) return tlv(0x87, ipBytes(value));
    throw new Error(`TLS_SAN entry "${entry}": expected DNS:<name> or IP:<address>`);
  });
  return { names, cn: entries[0].slice(entries[0].indexOf(':') + 1) };
}

/** A self-signed certificate and its key, both PEM. */
function selfSigned({ san = 'DNS:localhost,IP:127.0.0.1', days = 825, now = new Date() } = {}) {
  const { names, cn } = parseSan(san);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8(cn))));
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive, 16 bytes
  const keyId = crypto.createHash('sha1').update(spki).digest();
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))), // v3
    int(serial),
    ecdsaSha256,
    name,
    seq(time(new Date(now.getTime() - 3600_000)), time(new Date(now.getTime() + days * 86_400_000))),
    name,
    spki,
    explicit(
      3,
      seq(
        seq(oid('2.5.29.17'), octets(seq(...names))), // subjectAltName
        seq(oid('2.5.29.19'), bool(true), octets(seq(bool(true)))), // basicConstraints: critical, CA:TRUE
        seq(oid('2.5.29.14'), octets(octets(keyId))), // subjectKeyIdentifier
      ),
    ),
  );
  const signature = crypto.sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, ecdsaSha256, bits(signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return { cert: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) };
}

module.exports = { selfSigned };

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node docker/selfsigned-cert.cjs DIR');
    process.exit(64);
  }
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  const present = (f) => fs.existsSync(f) && fs.statSync(f).size > 0;
  if (present(certFile) && present(keyFile)) {
    console.log(`selfsigned-cert: ${certFile} exists, kept`);
    process.exit(0);
  }
  const san = process.env.TLS_SAN || 'DNS:localhost,IP:127.0.0.1';
  const { cert, key } = selfSigned({ san, days: Number(process.env.TLS_DAYS || 825) });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  fs.writeFileSync(certFile, cert, { mode: 0o644 });
  console.log(`selfsigned-cert: wrote ${certFile} for ${san}`);
}

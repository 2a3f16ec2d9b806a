// A minimal RFC 9162 tree and C2SP signed checkpoint, built with node's own
// crypto, for the unit tests. Independent of the
// client's verifier code on purpose.
import crypto from 'node:crypto';

const sha = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();

function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function mth(leaves) {
  if (leaves.length === 0) return sha(Buffer.alloc(0));
  if (leaves.length === 1) return sha([0], leaves[0]);
  const k = split(leaves.length);
  return sha([1], mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

export function path(m, leaves) {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))];
  return [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

export function makeSigner(origin) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const keyBytes = Buffer.concat([Buffer.from([1]), raw]);
  const hash = sha(Buffer.from(origin + '\n'), keyBytes).subarray(0, 4);
  const vkey = `${origin}+${hash.toString('hex')}+${keyBytes.toString('base64')}`;
  const sign = (text) => `— ${origin} ${Buffer.concat([hash, crypto.sign(null, Buffer.from(text), privateKey)]).toString('base64')}\n`;
  return { origin, vkey, sign };
}

export function checkpoint(signer, leaves, extraSignatures = '') {
  const body = `${signer.origin}\n${leaves.length}\n${mth(leaves).toString('base64')}\n`;
  return `${body}\n${signer.sign(body)}${extraSignatures}`;
}

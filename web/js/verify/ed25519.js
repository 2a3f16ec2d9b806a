// Ed25519 signature verification (RFC 8032, section 5.1.7), written for this
// client so that "who accessed my data" is checked by code the user's browser
// runs, not taken on the server's word. It only verifies: it never sees a
// secret, so plain (not constant-time) BigInt arithmetic is fine here.
//
// The check is the cofactorless one, [S]B - [k]A encoded == R, as Go's
// crypto/ed25519 and ed25519-dalek's `verify` do, so a signature this accepts is
// one the log's own tooling accepts too. S must be below the group order L
// (no malleable signatures).

import { concat, sha512 } from './bytes.js';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function mod(a, m = P) {
  const r = a % m;
  return r >= 0n ? r : r + m;
}

function pow(base, exp, m = P) {
  let result = 1n;
  base = mod(base, m);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % m;
    base = (base * base) % m;
    exp >>= 1n;
  }
  return result;
}

const inv = (a) => pow(a, P - 2n);

// d = -121665 / 121666, the curve constant of edwards25519.
const D = mod(-121665n * inv(121666n));
const D2 = mod(2n * D);
// A square root of -1, used when the first candidate root of x^2 is off by it.
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

// Points are in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
const BASE = (() => {
  const x = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;
  const y = 46316835694926478169428394003475163141307993866256225615783033603165251855960n;
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
})();
const IDENTITY = { X: 0n, Y: 1n, Z: 1n, T: 0n };

function add(p, q) {
  const a = mod((p.Y - p.X) * (q.Y - q.X));
  const b = mod((p.Y + p.X) * (q.Y + q.X));
  const c = mod(p.T * D2 * q.T);
  const d = mod(p.Z * 2n * q.Z);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return { X: mod(e * f), Y: mod(g * h), Z: mod(f * g), T: mod(e * h) };
}

function double(p) {
  const a = mod(p.X * p.X);
  const b = mod(p.Y * p.Y);
  const c = mod(2n * p.Z * p.Z);
  const h = a + b;
  const e = mod(h - (p.X + p.Y) * (p.X + p.Y));
  const g = a - b;
  const f = c + g;
  return { X: mod(e * f), Y: mod(g * h), Z: mod(f * g), T: mod(e * h) };
}

function negate(p) {
  return { X: mod(-p.X), Y: p.Y, Z: p.Z, T: mod(-p.T) };
}

function multiply(p, scalar) {
  let result = IDENTITY;
  for (let i = BigInt(scalar.toString(2).length) - 1n; i >= 0n; i--) {
    result = double(result);
    if ((scalar >> i) & 1n) result = add(result, p);
  }
  return result;
}

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function encode(p) {
  const zInv = inv(p.Z);
  const x = mod(p.X * zInv);
  let y = mod(p.Y * zInv);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(y & 0xffn);
    y >>= 8n;
  }
  if (x & 1n) out[31] |= 0x80;
  return out;
}

// RFC 8032, section 5.1.3. Returns null for any string that is not a point.
export function decodePoint(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return null;
  const copy = bytes.slice();
  const xSign = copy[31] >> 7;
  copy[31] &= 0x7f;
  const y = littleEndian(copy);
  if (y >= P) return null;
  const y2 = mod(y * y);
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  const v3 = mod(v * v * v);
  let x = mod(u * v3 * pow(u * v3 * v3 * v, (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === u) {
    // x is a root already.
  } else if (vx2 === mod(-u)) {
    x = mod(x * SQRT_M1);
  } else {
    return null;
  }
  if (x === 0n && xSign === 1) return null;
  if (Number(x & 1n) !== xSign) x = P - x;
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

/**
 * Verifies an Ed25519 signature.
 * @param {Uint8Array} publicKey 32 bytes
 * @param {Uint8Array} message
 * @param {Uint8Array} signature 64 bytes
 * @returns {Promise<boolean>}
 */
export async function verify(publicKey, message, signature) {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  const A = decodePoint(publicKey);
  if (!A) return false;
  const rBytes = signature.subarray(0, 32);
  const s = littleEndian(signature.subarray(32, 64));
  if (s >= L) return false;
  const digest = await sha512(concat(rBytes, publicKey, message));
  const k = mod(littleEndian(digest), L);
  const check = add(multiply(BASE, s), multiply(negate(A), k));
  const encoded = encode(check);
  for (let i = 0; i < 32; i++) if (encoded[i] !== rBytes[i]) return false;
  return true;
}

// Exposed for the tests: the encoding of the base point is a fixed, published value.
export const _internal = { BASE, encode, multiply, L };

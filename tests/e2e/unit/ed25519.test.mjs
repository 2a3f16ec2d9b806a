// The client's own Ed25519 verifier against RFC 8032's test vectors, against
// node's independent implementation on fresh keys, and against the inputs it
// must reject.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { verify, decodePoint, _internal } from '../../../web/js/verify/ed25519.js';
import { fromHex, toHex } from '../../../web/js/verify/bytes.js';

// RFC 8032, section 7.1: TEST 1, TEST 2, TEST 3 (public key, message, signature).
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

for (const v of RFC8032) {
  test(`RFC 8032 ${v.name} verifies`, async () => {
    assert.equal(await verify(fromHex(v.pk), fromHex(v.msg), fromHex(v.sig)), true);
  });

  test(`RFC 8032 ${v.name} fails with a flipped bit anywhere`, async () => {
    const sig = fromHex(v.sig);
    for (const at of [0, 31, 32, 63]) {
      const bad = sig.slice();
      bad[at] ^= 0x01;
      assert.equal(await verify(fromHex(v.pk), fromHex(v.msg), bad), false, `bit flip at ${at}`);
    }
    const msg = fromHex(v.msg + '00');
    assert.equal(await verify(fromHex(v.pk), msg, sig), false, 'longer message');
  });
}

test('a signature under one RFC key does not verify under another', async () => {
  const [a, b] = RFC8032;
  assert.equal(await verify(fromHex(b.pk), fromHex(a.msg), fromHex(a.sig)), false);
});

test('the base point encodes to its published value', () => {
  assert.equal(
    toHex(_internal.encode(_internal.BASE)),
    '5866666666666666666666666666666666666666666666666666666666666666',
  );
  // L * B is the identity, whose encoding is y = 1.
  assert.equal(
    toHex(_internal.encode(_internal.multiply(_internal.BASE, _internal.L))),
    '01' + '00'.repeat(31),
  );
});

test('agrees with node crypto on fresh keys and messages', async () => {
  for (let i = 0; i < 8; i++) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
    const msg = new Uint8Array(crypto.randomBytes(i * 37));
    const sig = new Uint8Array(crypto.sign(null, msg, privateKey));
    assert.equal(await verify(raw, msg, sig), true);
    const other = new Uint8Array(crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
    assert.equal(await verify(other, msg, sig), false);
  }
});

test('rejects S at or above the group order (malleated signatures)', async () => {
  const v = RFC8032[0];
  const sig = fromHex(v.sig);
  // Adding L to S gives a signature that a non-strict verifier would accept.
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]);
  s += _internal.L;
  const bad = sig.slice();
  for (let i = 32; i < 64; i++) {
    bad[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  assert.equal(await verify(fromHex(v.pk), fromHex(v.msg), bad), false);
});

test('rejects malformed keys and signatures', async () => {
  const v = RFC8032[1];
  assert.equal(await verify(fromHex(v.pk).subarray(1), fromHex(v.msg), fromHex(v.sig)), false);
  assert.equal(await verify(fromHex(v.pk), fromHex(v.msg), fromHex(v.sig).subarray(1)), false);
  // y = p is not canonical; y = 2 is not on the curve.
  const yIsP = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
  assert.equal(decodePoint(yIsP), null);
  assert.equal(decodePoint(fromHex('02' + '00'.repeat(31))), null);
  assert.equal(await verify(yIsP, fromHex(v.msg), fromHex(v.sig)), false);
});

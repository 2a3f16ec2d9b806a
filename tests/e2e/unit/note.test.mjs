// Signed notes and checkpoints: the published golang.org/x/mod/sumdb/note
// example, plus checkpoints signed here with node's Ed25519.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { openNote, parseVerifierKey, verifyCheckpoint, verifyCosignatures, parseCheckpoint } from '../../../web/js/verify/note.js';
import { toBase64 } from '../../../web/js/verify/bytes.js';

// The example of the sumdb/note package documentation.
const PETER_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE = PETER_TEXT + '\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

test('the sumdb/note example verifies', async () => {
  const opened = await openNote(PETER_NOTE, PETER_KEY);
  assert.equal(opened.text, PETER_TEXT);
  assert.equal(opened.signer, 'PeterNeumann');
});

test('the sumdb/note example fails when its text changes', async () => {
  await assert.rejects(openNote(PETER_NOTE.replace('cryptography', 'cryptographY'), PETER_KEY), /does not verify/);
});

test('mangled verifier keys are refused', async () => {
  await assert.rejects(parseVerifierKey(PETER_KEY.replace('c74f20a3', 'c74f20a4')), /hash/);
  await assert.rejects(parseVerifierKey('PeterNeumann+c74f20a3'), /name\+hash\+key/);
  await assert.rejects(parseVerifierKey(PETER_KEY.replace('+ARpc', '+AhRpc')));
  await assert.rejects(parseVerifierKey(PETER_KEY.slice(0, -4)));
});

async function makeLog(origin) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const keyBytes = Buffer.concat([Buffer.from([1]), raw]);
  const hash = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(origin + '\n'), keyBytes])).digest().subarray(0, 4);
  const vkey = `${origin}+${hash.toString('hex')}+${keyBytes.toString('base64')}`;
  const sign = (text, name = origin) => {
    const sig = crypto.sign(null, Buffer.from(text), privateKey);
    return `— ${name} ${toBase64(Buffer.concat([hash, sig]))}\n`;
  };
  return { vkey, sign };
}

test('a checkpoint signed by the region key verifies and parses, with witness names', async () => {
  const origin = 'sovereel.example/log/au';
  const log = await makeLog(origin);
  const root = crypto.randomBytes(32).toString('base64');
  const body = `${origin}\n42\n${root}\n`;
  const note = body + '\n' + log.sign(body) + `— witness.nz ${toBase64(crypto.randomBytes(76))}\n`;
  const cp = await verifyCheckpoint(note, log.vkey);
  assert.equal(cp.origin, origin);
  assert.equal(cp.size, 42n);
  assert.equal(toBase64(cp.rootHash), root);
  assert.deepEqual(cp.cosigners, ['witness.nz']);
});

test('a checkpoint whose tree size was edited fails', async () => {
  const origin = 'sovereel.example/log/us';
  const log = await makeLog(origin);
  const body = `${origin}\n7\n${crypto.randomBytes(32).toString('base64')}\n`;
  const note = (body + '\n' + log.sign(body)).replace('\n7\n', '\n8\n');
  await assert.rejects(verifyCheckpoint(note, log.vkey), /does not verify/);
});

test('a checkpoint signed by another key is reported as unsigned', async () => {
  const origin = 'sovereel.example/log/us';
  const log = await makeLog(origin);
  const impostor = await makeLog(origin);
  const body = `${origin}\n7\n${crypto.randomBytes(32).toString('base64')}\n`;
  await assert.rejects(verifyCheckpoint(body + '\n' + impostor.sign(body), log.vkey), /not signed by/);
});

test('malformed checkpoints are refused', () => {
  assert.throws(() => parseCheckpoint('origin\n7\n'), /three lines/);
  assert.throws(() => parseCheckpoint(`origin\n07\n${'A'.repeat(43)}=\n`), /decimal/);
  assert.throws(() => parseCheckpoint('origin\n7\nAAAA\n'), /32 bytes/);
  assert.throws(() => parseCheckpoint(`origin\n7\n${'A'.repeat(43)}=`), /newline/);
});

// A witness key (type 0x04) and its timestamped cosignature, made here with
// node's Ed25519 as c2sp.org/tlog-cosignature describes.
function makeWitness(name) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const keyBytes = Buffer.concat([Buffer.from([4]), publicKey.export({ format: 'der', type: 'spki' }).subarray(12)]);
  const hash = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), keyBytes])).digest().subarray(0, 4);
  const vkey = `${name}+${hash.toString('hex')}+${keyBytes.toString('base64')}`;
  const cosign = (body, time) => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(time));
    const sig = crypto.sign(null, Buffer.from(`cosignature/v1\ntime ${time}\n${body}`), privateKey);
    return `— ${name} ${Buffer.concat([hash, ts, sig]).toString('base64')}\n`;
  };
  return { vkey, cosign };
}

test('witness cosignatures verify, and fail when altered or missing', async () => {
  const origin = 'sovereel.example/log/nz';
  const log = await makeLog(origin);
  const au = makeWitness('sovereel.example/log/au/witness');
  const us = makeWitness('sovereel.example/log/us/witness');
  const gl = makeWitness('sovereel.example/log/global/witness');
  const body = `${origin}\n5\n${crypto.randomBytes(32).toString('base64')}\n`;
  const note = body + '\n' + log.sign(body) + au.cosign(body, 1764360000) + us.cosign(body, 1764360001);
  const results = await verifyCosignatures(note, [au.vkey, us.vkey, gl.vkey]);
  assert.deepEqual(results.map((r) => [r.ok, r.time ?? null]), [[true, 1764360000], [true, 1764360001], [false, null]]);
  assert.match(results[2].reason, /no cosignature/);

  // The timestamp is signed: changing it breaks the cosignature.
  const line = note.split('\n').find((l) => l.includes('/au/witness'));
  const blob = Buffer.from(line.split(' ').pop(), 'base64');
  blob[11] ^= 1;
  const altered = note.replace(line, `${line.split(' ').slice(0, 2).join(' ')} ${blob.toString('base64')}`);
  assert.equal((await verifyCosignatures(altered, [au.vkey]))[0].ok, false);
  // A witness key is not accepted as the log's key.
  await assert.rejects(openNote(note, au.vkey), /witness key/);
});

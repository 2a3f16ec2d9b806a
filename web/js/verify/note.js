// C2SP signed-note and tlog-checkpoint parsing and verification: the format of
// the ledger's checkpoints. A note is text, a blank line, then signature lines
// "— <key name> <base64(4-byte key hash || signature)>". A verifier key is
// "<name>+<hex key hash>+<base64(0x01 || Ed25519 public key)>", where the key
// hash is the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key).

import { concat, equalBytes, fromBase64, sha256, toHex, utf8 } from './bytes.js';
import { verify as verifyEd25519 } from './ed25519.js';

const ALG_ED25519 = 0x01;
// Timestamped witness cosignatures (c2sp.org/tlog-cosignature).
const ALG_COSIGNATURE_V1 = 0x04;

function validName(name) {
  return name.length > 0 && !/[\s+]/u.test(name);
}

export async function parseVerifierKey(vkey) {
  if (typeof vkey !== 'string') throw new Error('verifier key is not text');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw new Error('verifier key is not name+hash+key');
  const name = vkey.slice(0, first);
  const hashHex = vkey.slice(first + 1, second);
  if (!validName(name)) throw new Error('verifier key has an invalid name');
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new Error('verifier key hash is not 8 hex digits');
  const key = fromBase64(vkey.trim().slice(second + 1));
  if (key.length !== 33 || (key[0] !== ALG_ED25519 && key[0] !== ALG_COSIGNATURE_V1)) throw new Error('verifier key is not an Ed25519 key');
  const expected = (await sha256(concat(utf8(name + '\n'), key))).subarray(0, 4);
  if (toHex(expected) !== hashHex) throw new Error('verifier key hash does not match its key');
  return { name, keyHash: expected, alg: key[0], publicKey: key.subarray(1) };
}

export function parseNote(note) {
  if (typeof note !== 'string') throw new Error('note is not text');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('note has no signature block');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n') || block.length === 1) throw new Error('note signatures are malformed');
  const signatures = block
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      if (!line.startsWith('— ')) throw new Error('note signature line does not start with an em dash');
      const rest = line.slice(2);
      const space = rest.indexOf(' ');
      if (space <= 0) throw new Error('note signature line has no name');
      const name = rest.slice(0, space);
      const blob = fromBase64(rest.slice(space + 1));
      if (blob.length < 5) throw new Error('note signature is too short');
      return { name, keyHash: blob.subarray(0, 4), signature: blob.subarray(4) };
    });
  return { text, signatures };
}

/**
 * Verifies `note` with the verifier key `vkey`. Returns the note's text and the
 * names of the other signers (witness cosignatures, not checked here); throws
 * with a readable reason when no signature by that key verifies.
 */
export async function openNote(note, vkey) {
  const key = await parseVerifierKey(vkey);
  if (key.alg !== ALG_ED25519) throw new Error(`${key.name} is a witness key, not a log key`);
  const { text, signatures } = parseNote(note);
  const mine = signatures.filter((s) => s.name === key.name && equalBytes(s.keyHash, key.keyHash));
  if (mine.length === 0) throw new Error(`note is not signed by ${key.name}`);
  for (const s of mine) {
    if (!(await verifyEd25519(key.publicKey, utf8(text), s.signature))) {
      throw new Error(`signature by ${key.name} does not verify`);
    }
  }
  const others = signatures.filter((s) => s.name !== key.name).map((s) => s.name);
  return { text, signer: key.name, cosigners: [...new Set(others)] };
}

export function parseCheckpoint(text) {
  if (!text.endsWith('\n')) throw new Error('checkpoint does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error('checkpoint has fewer than three lines');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin.length === 0) throw new Error('checkpoint has an empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error('checkpoint tree size is not a decimal number');
  const rootHash = fromBase64(rootText);
  if (rootHash.length !== 32) throw new Error('checkpoint root hash is not 32 bytes');
  return { origin, size: BigInt(sizeText), rootHash, extensions };
}

/** Verifies a signed checkpoint note and parses its body. */
export async function verifyCheckpoint(note, vkey) {
  const opened = await openNote(note, vkey);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== opened.signer) {
    throw new Error(`checkpoint origin ${checkpoint.origin} is not the key name ${opened.signer}`);
  }
  return { ...checkpoint, cosigners: opened.cosigners };
}

/**
 * Checks the witness cosignatures on a note against the given witness keys.
 * Returns one result per key: {name, ok, time (seconds), reason}. A witness
 * that did not cosign is reported as not ok, with that reason.
 */
export async function verifyCosignatures(note, witnessVkeys) {
  const { text, signatures } = parseNote(note);
  const results = [];
  for (const vkey of witnessVkeys) {
    let key;
    try {
      key = await parseVerifierKey(vkey);
    } catch (err) {
      results.push({ name: String(vkey).split('+')[0], ok: false, reason: err.message });
      continue;
    }
    const line = signatures.find((s) => s.name === key.name && equalBytes(s.keyHash, key.keyHash));
    if (!line || key.alg !== ALG_COSIGNATURE_V1 || line.signature.length !== 72) {
      results.push({ name: key.name, ok: false, reason: line ? 'not a timestamped cosignature' : 'no cosignature by this witness' });
      continue;
    }
    let time = 0n;
    for (const b of line.signature.subarray(0, 8)) time = (time << 8n) | BigInt(b);
    const message = utf8(`cosignature/v1\ntime ${time}\n${text}`);
    const ok = await verifyEd25519(key.publicKey, message, line.signature.subarray(8));
    results.push({ name: key.name, ok, time: Number(time), reason: ok ? '' : 'the cosignature does not verify' });
  }
  return results;
}

// Checks the answer of GET /v1/me/access-log in the browser: each checkpoint's
// Ed25519 signature under the region's verifier key, then each entry's
// inclusion proof against that checkpoint's root. An entry counts as verified
// only when both hold, and the entry shown is the one decoded from the proven
// leaf bytes, never the server's separate copy of it.
//
// Two shapes are read: {checkpoint, vkey, items: [{index, entry: {…}, leaf_b64,
// proof, tree_size}]}, and items as the ledger crate's InclusionProof
// ({index, tree_size, entry: "<base64 leaf>", proof, checkpoint}), each
// carrying the checkpoint it proves against.

import { fromBase64 } from './verify/bytes.js';
import { verifyInclusion } from './verify/merkle.js';
import { verifyCheckpoint } from './verify/note.js';

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * @param answer the access-log answer
 * @param vkey the region log's verifier key, when the answer does not carry it
 */
export async function verifyAccessLog(answer, vkey = answer?.vkey) {
  const checked = new Map(); // checkpoint note -> {checkpoint, error}
  async function check(note) {
    if (!checked.has(note)) {
      try {
        if (!vkey) throw new Error('the log key is not known');
        checked.set(note, { checkpoint: await verifyCheckpoint(note, vkey), error: null });
      } catch (err) {
        checked.set(note, { checkpoint: null, error: err.message });
      }
    }
    return checked.get(note);
  }
  const items = [];
  for (const item of answer?.items || []) {
    const note = item.checkpoint || answer.checkpoint;
    items.push(await verifyItem(item, note ? await check(note) : { checkpoint: null, error: 'no checkpoint was given' }));
  }
  // The answer's checkpoint (or the newest item's) stands for the log on screen.
  const headlineNote = answer?.checkpoint || answer?.items?.at(-1)?.checkpoint;
  const headline = headlineNote ? await check(headlineNote) : null;
  return { checkpoint: headline?.checkpoint ?? null, checkpointError: headline?.error ?? null, items };
}

async function verifyItem(item, { checkpoint, error }) {
  const described = typeof item.entry === 'object' && item.entry !== null ? item.entry : null;
  const result = { index: item.index, entry: described, ok: false, reason: '' };
  let leaf;
  try {
    leaf = fromBase64(item.leaf_b64 ?? item.entry);
    result.entry = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(leaf));
  } catch {
    result.reason = 'the logged entry is not readable JSON';
    return result;
  }
  if (described && canonical(described) !== canonical(result.entry)) {
    result.reason = 'the entry the server described differs from the logged bytes';
    return result;
  }
  if (!checkpoint) {
    result.reason = `the checkpoint could not be verified (${error})`;
    return result;
  }
  if (BigInt(item.tree_size ?? -1) !== checkpoint.size) {
    result.reason = `the proof is for a tree of ${item.tree_size} entries, but the checkpoint has ${checkpoint.size}`;
    return result;
  }
  let proof;
  try {
    proof = (item.proof || []).map(fromBase64);
  } catch {
    result.reason = 'the inclusion proof is not valid base64';
    return result;
  }
  if (!(await verifyInclusion(item.index, checkpoint.size, leaf, proof, checkpoint.rootHash))) {
    result.reason = 'the inclusion proof does not lead to the signed checkpoint';
    return result;
  }
  result.ok = true;
  return result;
}

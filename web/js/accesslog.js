// Checks the answer of GET /v1/me/access-log in the browser: the checkpoint's
// Ed25519 signature under the region's verifier key, then each entry's
// inclusion proof against that checkpoint's root. An entry counts as verified
// only when both hold, and the entry shown is the one decoded from the proven
// leaf bytes, never the server's separate copy of it.

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

export async function verifyAccessLog(answer) {
  let checkpoint = null;
  let checkpointError = null;
  try {
    checkpoint = await verifyCheckpoint(answer.checkpoint, answer.vkey);
  } catch (err) {
    checkpointError = err.message;
  }
  const items = [];
  for (const item of answer.items || []) {
    items.push(await verifyItem(item, checkpoint, checkpointError));
  }
  return { checkpoint, checkpointError, items };
}

async function verifyItem(item, checkpoint, checkpointError) {
  const result = { index: item.index, entry: item.entry, ok: false, reason: '' };
  let leaf;
  try {
    leaf = fromBase64(item.leaf_b64);
    result.entry = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(leaf));
  } catch {
    result.reason = 'the logged entry is not readable JSON';
    return result;
  }
  if (item.entry && canonical(item.entry) !== canonical(result.entry)) {
    result.reason = 'the entry the server described differs from the logged bytes';
    return result;
  }
  if (!checkpoint) {
    result.reason = `the checkpoint could not be verified (${checkpointError})`;
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

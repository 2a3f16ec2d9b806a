// Merkle inclusion proofs of RFC 9162 (section 2.1.3.2), the tree the ledger
// signs checkpoints over: SHA-256, leaves hashed as H(0x00 || leaf), interior
// nodes as H(0x01 || left || right). Indices are BigInt so that no tree size
// is silently truncated by JavaScript's 32-bit bit operators.

import { concat, equalBytes, sha256 } from './bytes.js';

export async function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

export async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/**
 * The root that `proof` implies for a leaf hash at `index` in a tree of `size`
 * leaves, or null when the proof has the wrong shape for that position.
 */
export async function rootFromInclusionProof(index, size, leafHashBytes, proof) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) return null;
  let r = leafHashBytes;
  for (const p of proof) {
    if (!(p instanceof Uint8Array) || p.length !== 32) return null;
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return null;
  return r;
}

/** True when `leaf` (raw bytes) is at `index` of the tree of `size` with `root`. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  const computed = await rootFromInclusionProof(index, size, await leafHash(leaf), proof);
  return computed !== null && equalBytes(computed, root);
}

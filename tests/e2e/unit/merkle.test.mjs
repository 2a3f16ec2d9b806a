// Inclusion proofs checked against trees built from RFC 9162's recursive
// definitions (MTH and PATH, section 2.1), written here independently of the
// client's iterative verifier.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { leafHash, verifyInclusion, rootFromInclusionProof } from '../../../web/js/verify/merkle.js';
import { toHex } from '../../../web/js/verify/bytes.js';

const h = (...parts) => new Uint8Array(crypto.createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest());

// Largest power of two strictly less than n.
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves) {
  if (leaves.length === 0) return h([]);
  if (leaves.length === 1) return h([0], leaves[0]);
  const k = split(leaves.length);
  return h([1], mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function path(m, leaves) {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))];
  return [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

const leaves = Array.from({ length: 21 }, (_, i) => new TextEncoder().encode(JSON.stringify({ v: 1, i })));

test('leaf hash uses the 0x00 prefix (well-known hash of the empty leaf)', async () => {
  assert.equal(toHex(await leafHash(new Uint8Array())), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
});

test('every leaf of every tree size up to 21 verifies against its root', async () => {
  for (let size = 1; size <= leaves.length; size++) {
    const tree = leaves.slice(0, size);
    const root = mth(tree);
    for (let i = 0; i < size; i++) {
      assert.equal(await verifyInclusion(i, size, tree[i], path(i, tree), root), true, `leaf ${i} of ${size}`);
    }
  }
});

test('a tampered leaf, proof hash, index, size or root fails', async () => {
  const size = 13;
  const tree = leaves.slice(0, size);
  const root = mth(tree);
  for (let i = 0; i < size; i++) {
    const proof = path(i, tree);
    const otherLeaf = leaves[(i + 1) % size];
    assert.equal(await verifyInclusion(i, size, otherLeaf, proof, root), false, 'other leaf');
    const tampered = proof.map((p) => p.slice());
    tampered[0][5] ^= 0x80;
    assert.equal(await verifyInclusion(i, size, tree[i], tampered, root), false, 'tampered proof');
    assert.equal(await verifyInclusion((i + 1) % size, size, tree[i], proof, root), false, 'wrong index');
    // A size with a deeper tree changes the proof's shape. (A size whose tree has
    // the same shape can imply the same root: the checkpoint is what binds the size.)
    assert.equal(await verifyInclusion(i, size + 4, tree[i], proof, root), false, 'wrong size');
    assert.equal(await verifyInclusion(i, size, tree[i], proof, mth(leaves.slice(0, size + 1))), false, 'other root');
    assert.equal(await verifyInclusion(i, size, tree[i], proof.slice(0, -1), root), false, 'short proof');
    assert.equal(await verifyInclusion(i, size, tree[i], [...proof, proof[0]], root), false, 'long proof');
  }
});

test('an index outside the tree has no root', async () => {
  assert.equal(await rootFromInclusionProof(5, 5, await leafHash(leaves[0]), []), null);
  assert.equal(await rootFromInclusionProof(-1, 5, await leafHash(leaves[0]), []), null);
  assert.equal(await rootFromInclusionProof(0, 0, await leafHash(leaves[0]), []), null);
});

test('a single-leaf tree needs an empty proof', async () => {
  assert.equal(await verifyInclusion(0, 1, leaves[0], [], mth([leaves[0]])), true);
});

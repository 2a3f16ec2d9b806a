// The access-log check as the privacy centre runs it, on a log built with
// node's crypto: honest answers verify, and each kind of tampering fails with
// its own reason.
import test from 'node:test';
import assert from 'node:assert/strict';
import { verifyAccessLog } from '../../../web/js/accesslog.js';
import { checkpoint, makeSigner, path as proofPath } from '../lib/tlog.mjs';

function makeAnswer(count = 7, mine = [1, 4, 6]) {
  const signer = makeSigner('sovereel.test/log/au');
  const entries = Array.from({ length: count }, (_, i) => ({ v: 1, at: '2026-11-28T10:00:00Z', kind: 'access', action: `read_${i}`, subject: mine.includes(i) ? 'me' : 'other' }));
  const leaves = entries.map((e) => Buffer.from(JSON.stringify(e)));
  return {
    checkpoint: checkpoint(signer, leaves),
    vkey: signer.vkey,
    items: mine.map((index) => ({ index, entry: entries[index], leaf_b64: leaves[index].toString('base64'), proof: proofPath(index, leaves).map((p) => p.toString('base64')), tree_size: leaves.length })),
  };
}

test('an honest answer verifies every entry', async () => {
  const result = await verifyAccessLog(makeAnswer());
  assert.equal(result.checkpointError, null);
  assert.equal(result.checkpoint.size, 7n);
  assert.deepEqual(result.items.map((i) => i.ok), [true, true, true]);
  assert.equal(result.items[1].entry.action, 'read_4');
});

test('a flipped bit in one proof fails only that entry', async () => {
  const answer = makeAnswer();
  const proof = Buffer.from(answer.items[1].proof[0], 'base64');
  proof[3] ^= 0x10;
  answer.items[1].proof[0] = proof.toString('base64');
  const result = await verifyAccessLog(answer);
  assert.deepEqual(result.items.map((i) => i.ok), [true, false, true]);
  assert.match(result.items[1].reason, /does not lead to the signed checkpoint/);
});

test('an edited leaf fails, even when the described entry is edited to match', async () => {
  const answer = makeAnswer();
  const forged = { ...answer.items[0].entry, action: 'nothing_to_see' };
  answer.items[0].entry = forged;
  answer.items[0].leaf_b64 = Buffer.from(JSON.stringify(forged)).toString('base64');
  const result = await verifyAccessLog(answer);
  assert.equal(result.items[0].ok, false);
});

test('an entry described differently from its logged bytes fails', async () => {
  const answer = makeAnswer();
  answer.items[2].entry = { ...answer.items[2].entry, action: 'something_else' };
  const result = await verifyAccessLog(answer);
  assert.equal(result.items[2].ok, false);
  assert.match(result.items[2].reason, /differs from the logged bytes/);
});

test('a checkpoint with a bad signature fails every entry', async () => {
  const answer = makeAnswer();
  answer.checkpoint = answer.checkpoint.replace('\n7\n', '\n8\n');
  const result = await verifyAccessLog(answer);
  assert.ok(result.checkpointError);
  assert.deepEqual(result.items.map((i) => i.ok), [false, false, false]);
});

test('a checkpoint signed by another key fails', async () => {
  const answer = makeAnswer();
  answer.vkey = makeSigner('sovereel.test/log/au').vkey;
  const result = await verifyAccessLog(answer);
  assert.match(result.checkpointError, /not signed by/);
  assert.equal(result.items.some((i) => i.ok), false);
});

test('a proof for another tree size fails', async () => {
  const answer = makeAnswer();
  answer.items[0].tree_size = 6;
  const result = await verifyAccessLog(answer);
  assert.match(result.items[0].reason, /tree of 6 entries/);
});

// The ledger crate's InclusionProof: the entry as base64 leaf bytes, and each
// item with the checkpoint it proves against; the key comes from /log/<r>/vkey.
function ledgerShape(answer) {
  return {
    items: answer.items.map((i) => ({ index: i.index, tree_size: i.tree_size, entry: i.leaf_b64, proof: i.proof, checkpoint: answer.checkpoint })),
  };
}

test('the ledger crate shape verifies with the key given separately', async () => {
  const answer = makeAnswer();
  const result = await verifyAccessLog(ledgerShape(answer), answer.vkey);
  assert.deepEqual(result.items.map((i) => i.ok), [true, true, true]);
  assert.equal(result.checkpoint.size, 7n);
  assert.equal(result.items[0].entry.action, 'read_1');
});

test('the ledger crate shape fails on a tampered proof or without the key', async () => {
  const answer = makeAnswer();
  const shaped = ledgerShape(answer);
  const proof = Buffer.from(shaped.items[2].proof[0], 'base64');
  proof[0] ^= 1;
  shaped.items[2].proof[0] = proof.toString('base64');
  const result = await verifyAccessLog(shaped, answer.vkey);
  assert.deepEqual(result.items.map((i) => i.ok), [true, true, false]);
  const keyless = await verifyAccessLog(ledgerShape(answer));
  assert.equal(keyless.items.some((i) => i.ok), false);
  assert.match(keyless.checkpointError, /key is not known/);
});

test('an empty log answer has nothing to verify and no error', async () => {
  const result = await verifyAccessLog({ items: [] });
  assert.deepEqual(result, { checkpoint: null, checkpointError: null, items: [] });
});

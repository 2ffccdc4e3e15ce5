// Snapshot verification on files written by hand: a valid one checks out, and an entry
// added, dropped, changed or out of order, a cut file, another key's signature or a
// genesis block 0 does not link to is refused with snapshot_invalid and a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateSigner, type Signer } from '../src/core/keys.js';
import { smtPath, smtRootOfSorted, smtSortEntries, smtValueHash } from '../src/core/smt.js';
import { chainModules } from '../src/modules/index.js';
import { signHeader, type BlockHeader } from '../src/chain/blocks.js';
import { defaultGenesis, genesisHash } from '../src/chain/genesis.js';
import { SNAPSHOT_FORMAT, verifySnapshotFile } from '../src/chain/snapshot.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-snapshot-'));
const { signer } = generateSigner();
const genesis = defaultGenesis(chainModules, { chain: 'snap-test', decimals: 2, dev: false });
const entries: Array<[string, string]> = [
  ['auth/' + 'a'.repeat(40), '{"nonce":1,"pub":"x"}'],
  ['ledger/acct/' + 'a'.repeat(40), '{"balance":"5","created":0,"name":"alice"}'],
  ['ledger/name/alice', JSON.stringify('a'.repeat(40))],
];

const rootOf = (list: Array<[string, string]>) => bytesToHex(smtRootOfSorted(smtSortEntries(list.map(([k, v]) => ({ path: smtPath(k), valueHash: smtValueHash(v) })))));

function head(by: Signer = signer, over: Partial<BlockHeader> = {}, count = entries.length) {
  const block0 = signHeader({ chain: 'snap-test', height: 0, prevHash: genesisHash(genesis), time: genesis.time, txRoot: '0'.repeat(64), stateRoot: '0'.repeat(64), txCount: 0, proposer: by.pub }, by);
  const header = { chain: 'snap-test', height: 9, prevHash: '1'.repeat(64), time: genesis.time + 9, txRoot: '2'.repeat(64), stateRoot: rootOf(entries), txCount: 1, proposer: by.pub, version: 2, ...over } as BlockHeader;
  return { format: SNAPSHOT_FORMAT, height: 9, entries: count, genesis, genesisBlock: block0, block: signHeader(header, by) };
}

let n = 0;
function file(lines: unknown[], raw = false): string {
  const f = path.join(dir, `s${n++}.jsonl`);
  fs.writeFileSync(f, lines.map((l) => (raw ? l : JSON.stringify(l))).join('\n') + (raw ? '' : '\n'));
  return f;
}
const verify = (f: string, key = signer.pub) => verifySnapshotFile(f, key, chainModules);

test('a snapshot whose entries recompute the signed stateRoot verifies, and gives every entry once', () => {
  const seen: string[] = [];
  const r = verifySnapshotFile(file([head(), ...entries]), signer.pub, chainModules, () => {}, (k) => seen.push(k));
  assert.equal(r.root, head().block.header.stateRoot);
  assert.equal(r.head.height, 9);
  assert.deepEqual(seen, entries.map(([k]) => k));
});

test('every defect is refused with snapshot_invalid and says what is wrong', () => {
  const other = generateSigner().signer;
  const changed: Array<[string, string]> = [entries[0]!, [entries[1]![0], entries[1]![1].replace('"5"', '"6"')], entries[2]!];
  const extra: Array<[string, string]> = [...entries, ['ledger/name/zed', '"b"']];
  const cases: Array<[string, string, RegExp, string?]> = [
    ['a dropped entry', file([head(undefined, {}, 2), entries[0], entries[2]]), /root .* is not the header's stateRoot/],
    ['an added entry', file([head(undefined, {}, 4), ...extra]), /not the header's stateRoot/],
    ['a changed value', file([head(), ...changed]), /not the header's stateRoot/],
    ['entries out of order', file([head(), entries[1], entries[0], entries[2]]), /sorted and distinct/],
    ['a repeated entry', file([head(undefined, {}, 4), entries[0], entries[0], entries[1], entries[2]]), /sorted and distinct/],
    ['fewer entries than announced', file([head(undefined, {}, 5), ...entries]), /3 entries, not the 5/],
    ['more entries than announced', file([head(undefined, {}, 2), ...entries]), /more entries than the 2/],
    ['a cut last line', file([JSON.stringify(head()), ...entries.map((e) => JSON.stringify(e))].join('\n').slice(0, -5).split('\n'), true), /newline/],
    ['another node key', file([head(other), ...entries]), /not made by the node key you trust/],
    ['a version 1 header', file([head(undefined, { version: undefined } as Partial<BlockHeader>), ...entries]), /version 1/],
    ['a genesis block 0 does not link to', file([{ ...head(), genesis: { ...genesis, time: genesis.time + 1 } }, ...entries]), /genesis is not the one block 0 links to/],
    ['a forged signature', file([{ ...head(), block: { ...head().block, sig: head(other).block.sig } }, ...entries]), /hash or signature/],
    ['not JSON', file(['{nope', ''], true), /not JSON/],
    ['a bad entry', file([head(), ['k', 1]]), /not \[key, valueText\]/],
  ];
  for (const [what, f, reason] of cases) {
    assert.throws(() => verify(f), (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'snapshot_invalid', `${what}: ${err.message}`);
      assert.match(err.message!, reason, what);
      return true;
    }, what);
  }
});

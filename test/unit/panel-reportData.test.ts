// The data behind the results panel and `mnas report --html`: Pareto front, reward curve and
// moving average, top-k, baseline, per-block detail; and the standalone page around it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { findBaseline, loadRun } from '../../server/src/report/load';
import { reportPage } from '../../server/src/report/page';
import { movingAverage, paretoIds, prepareReport, rewardCurve } from '../../server/src/report/data';
import { childDetail } from '../../server/src/report/detail';
import type { ChildRecord } from '../../server/src/search/runFolder';

const spec = {
  name: 'T_c0', input: { h: 28, w: 28, c: 1 }, width: 1, depth: 1, act: 'relu' as const,
  stem: { k: 3, s: 2, f: 8 },
  blocks: [{ name: 'b1', op: 'mbconv' as const, e: 3, k: 5, s: 2, f: 16, x: 1, se: 0, skip: 'identity' as const }],
  head: { f: null, pool: 'avg' as const, classes: 10, dropout: 0 },
};

function child(id: number, accuracy: number, latencyMs: number, reward: number, extra: Partial<ChildRecord> = {}): ChildRecord {
  return {
    type: 'child', id, step: Math.floor(id / 2) + 1, actions: [0, 1], name: `T_c${id}`, spec, model: `model T_c${id} {}\n`,
    accuracy, latencyMs, latencySpread: 0, latencySource: 'local', params: 1000 + id, multAdds: 5000 + id, proxyParams: 1000,
    reward, trainSeconds: 1, imagesPerSecond: 100, attempts: 1, time: '2026-01-01T00:00:00Z', ...extra,
  };
}

const info = { search: 'Tiny', strategy: 'rl' as const, seed: 1, children: 6, config: { targetMs: 1, reward: { preset: 'soft' } }, backend: { trainer: 'torch', controller: 'tfjs', latency: 'local' }, dataset: { split: 'mnist 300/100' } };

describe('report data', () => {
  test('moving average is trailing and uses fewer values at the start', () => {
    assert.deepEqual(movingAverage([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5]);
    assert.deepEqual(movingAverage([4], 5), [4]);
    assert.deepEqual(movingAverage([], 3), []);
    assert.deepEqual(movingAverage([1, 3], 0), [1, 3]);
  });

  test('Pareto front: no other child is both faster (or as fast) and more accurate', () => {
    const cs = [
      { id: 0, accuracy: 0.5, latencyMs: 2 },
      { id: 1, accuracy: 0.7, latencyMs: 3 },
      { id: 2, accuracy: 0.6, latencyMs: 4 }, // dominated by 1
      { id: 3, accuracy: 0.4, latencyMs: 1 },
      { id: 4, accuracy: 0.9, latencyMs: 9 },
      { id: 5, accuracy: 0.4, latencyMs: 1 }, // tie with 3: one of them
    ];
    assert.deepEqual(paretoIds(cs), [3, 0, 1, 4]);
    for (const id of paretoIds(cs)) {
      const c = cs.find((x) => x.id === id)!;
      assert.ok(!cs.some((o) => o.latencyMs <= c.latencyMs && o.accuracy > c.accuracy));
    }
  });

  test('reward curve follows sampling order (child id)', () => {
    const curve = rewardCurve([{ id: 2, reward: 0.3 }, { id: 0, reward: 0.1 }, { id: 1, reward: 0.2 }], 2);
    assert.deepEqual(curve.map((p) => p.id), [0, 1, 2]);
    assert.deepEqual(curve.map((p) => p.index), [1, 2, 3]);
    assert.ok(Math.abs(curve[2].avg - 0.25) < 1e-12);
  });

  test('prepareReport: children, failed, front flags, top-k without cached repeats, status', () => {
    const entries = [
      { type: 'batch' },
      child(0, 0.5, 2, 0.40),
      child(1, 0.7, 3, 0.55),
      { type: 'failed', id: 2, step: 2, actions: [], name: 'T_c2', error: 'out of memory', time: '' },
      child(3, 0.7, 3, 0.55, { cachedFrom: 1 }),
      { type: 'update', step: 1 },
      child(4, 0.4, 1, 0.45),
    ];
    const r = prepareReport({ run: '/runs/x', info, entries, topK: 2, window: 2 });
    assert.deepEqual(r.children.map((c) => c.id), [0, 1, 3, 4]);
    assert.deepEqual(r.failed, [{ id: 2, error: 'out of memory' }]);
    assert.deepEqual(r.top.map((c) => c.id), [1, 4]);
    assert.equal(r.top[0].cachedFrom, null);
    assert.deepEqual(r.front, [4, 0, 1]);
    assert.deepEqual(r.children.filter((c) => c.pareto).map((c) => c.id), [0, 1, 4]);
    assert.equal(r.status, 'incomplete');
    assert.equal(r.targetMs, 1);
    assert.equal(r.rewardPreset, 'soft');
    assert.match(r.backend, /torch; controller tfjs; latency local/);
    assert.equal(r.curve.length, 4);
    assert.equal(r.baseline, null);
    assert.equal(prepareReport({ run: '/r', info: { ...info, children: 5 }, entries }).status, 'done');
    assert.equal(prepareReport({ run: '/r', info, entries, status: 'running' }).status, 'running');
  });

  test('a retried child that succeeded is not also listed as failed', () => {
    const entries = [{ type: 'failed', id: 0, error: 'boom' }, child(0, 0.5, 1, 0.5)];
    const r = prepareReport({ run: '/r', info, entries });
    assert.deepEqual(r.failed, []);
    assert.equal(r.children.length, 1);
  });

  test('baseline curve from a random run', () => {
    const r = prepareReport({ run: '/r', info, entries: [child(0, 0.5, 1, 0.5)], baseline: { run: '/b', entries: [child(0, 0.1, 1, 0.2), child(1, 0.1, 1, 0.4)] }, window: 2 });
    assert.equal(r.baseline?.run, '/b');
    assert.deepEqual(r.baseline?.curve.map((p) => p.avg), [0.2, 0.30000000000000004]);
  });

  test('child detail: blocks with output shape and the cost model numbers', () => {
    const d = childDetail(child(0, 0.5, 1, 0.5));
    assert.equal(d.blocks.length, 1);
    assert.equal(d.blocks[0].out, '7x7x16');
    assert.equal(d.blocks[0].params, 1304);
    assert.equal(d.blocks[0].multAdds, 85848);
    assert.equal(d.params, 1562);
    assert.equal(d.multAdds, 100120);
  });
});

describe('report page and run folders', () => {
  test('the page has a CSP with the nonce, no unsafe-eval, and script-safe embedded JSON', () => {
    const data = prepareReport({ run: '/r', info: { ...info, search: '</script><script>alert(1)</script>' }, entries: [child(0, 0.5, 1, 0.5)] });
    const html = reportPage({ title: 'x <b>', nonce: 'abc123', inlineScript: 'console.log(1)', embedded: { data, details: [] } });
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; [^"]*script-src 'nonce-abc123'/);
    assert.doesNotMatch(html, /unsafe-eval|unsafe-inline|https?:\/\//);
    assert.doesNotMatch(html, /<\/script><script>alert/);
    assert.match(html, /<title>x &#60;b&#62;<\/title>/);
    const json = /<script type="application\/json" id="mnas-report">(.*?)<\/script>/s.exec(html)![1];
    assert.equal(JSON.parse(json).data.search, '</script><script>alert(1)</script>');
  });

  test('the webview page loads its script from the webview and allows only its CSP source', () => {
    const html = reportPage({ title: 't', nonce: 'n1', scriptUri: 'vscode-webview://x/results.js', cspSource: 'vscode-webview://x' });
    assert.match(html, /<script nonce="n1" src="vscode-webview:\/\/x\/results.js"><\/script>/);
    assert.match(html, /style-src vscode-webview:\/\/x 'nonce-n1'/);
  });

  test('loadRun reads a run folder and finds a random baseline beside it', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-report-'));
    const write = (name: string, strategy: string, children: ChildRecord[], search = 'Tiny') => {
      const dir = path.join(parent, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...info, strategy, search }));
      fs.writeFileSync(path.join(dir, 'journal.jsonl'), children.map((c) => JSON.stringify(c)).join('\n') + '\n');
      return dir;
    };
    const rl = write('Tiny-rl-1', 'rl', [child(0, 0.5, 1, 0.5), child(1, 0.6, 2, 0.6)]);
    write('Tiny-random-1', 'random', [child(0, 0.1, 1, 0.1)]);
    write('Other-random-1', 'random', [], 'Other');
    fs.mkdirSync(path.join(parent, 'not-a-run'));
    assert.equal(findBaseline(rl, info), path.join(parent, 'Tiny-random-1'));
    const { data, children } = loadRun(rl);
    assert.equal(data.children.length, 2);
    assert.equal(data.baseline?.curve.length, 1);
    assert.equal(children.get(1)?.name, 'T_c1');
    assert.throws(() => loadRun(path.join(parent, 'not-a-run')), /not a run folder/);
    fs.rmSync(parent, { recursive: true });
  });
});

// The results panel accepts only well-formed messages from its webview (untrusted content).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFromWebview, parsePanelState } from '../../client/src/panels/messages';

describe('results panel: messages from the webview', () => {
  test('accepts each well-formed message', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'openChild', id: 3 },
      { type: 'exportChild', id: 0 },
      { type: 'trainChild', id: 5 },
      { type: 'copyChild', id: 12 },
      { type: 'detail', id: 7 },
      { type: 'select', id: 2 },
      { type: 'select', id: null },
    ]) assert.deepEqual(parseFromWebview(m), m);
  });

  test('rejects unknown types, wrong or missing fields, extra fields, and non-objects', () => {
    const bad: unknown[] = [
      null, undefined, 'ready', 42, [], {},
      { type: 'eval', code: 'x' },
      { type: 'openChild' },
      { type: 'openChild', id: '3' },
      { type: 'openChild', id: -1 },
      { type: 'openChild', id: 1.5 },
      { type: 'openChild', id: 1e12 },
      { type: 'openChild', id: 3, path: '/etc/passwd' },
      { type: 'ready', extra: true },
      { type: 'trainChild', id: 5, args: ['--epochs', '1000'] },
      { type: 'trainChild', id: -2 },
      { type: 'select' },
      { type: 'detail', id: Number.NaN },
      { type: ['ready'] },
    ];
    for (const m of bad) assert.equal(parseFromWebview(m), null, JSON.stringify(m));
  });

  test('reports why a message was rejected', () => {
    let why = '';
    parseFromWebview({ type: 'openChild', id: 'x' }, (w) => { why = w; });
    assert.ok(why.length > 0);
  });

  test('panel state: a run folder and an optional selection', () => {
    assert.deepEqual(parsePanelState({ run: '/runs/Tiny-rl-1', selected: 2 }), { run: '/runs/Tiny-rl-1', selected: 2 });
    assert.deepEqual(parsePanelState({ run: '/runs/a' }), { run: '/runs/a', selected: null });
    assert.deepEqual(parsePanelState({ run: '/runs/a', selected: null }), { run: '/runs/a', selected: null });
    for (const s of [undefined, null, {}, { run: '' }, { run: 3 }, { run: '/a', selected: 'x' }, { run: '/a', other: 1 }]) assert.equal(parsePanelState(s), null);
  });
});

// `mnas/childDetail` over a real connection: the results panel's per-block costs come from the
// language server (the extension bundle has no cost model), and equal what `mnas report --html`
// embeds for the same child (report/detail.ts on the journal's spec).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeText } from '../helpers/analyze';
import { printModel } from '../../server/src/language/print';
import { decisions, sample, type ResolvedSpace } from '../../server/src/language/space';
import type { SpaceEntry } from '../../server/src/analysis/analysis';
import { childDetail } from '../../server/src/report/detail';
import { CHILD_DETAIL_REQUEST, type ChildDetailParams, type ChildDetailResult } from '../../server/src/lsp/protocol';
import { TestClient } from './client';

const SPACE = `model M { input 32x32x3 stem conv k3 s2 f8
  block b1 { mbconv e6 k3 s1 f8 x1 }
  block b2 { mbconv e6 k3 s2 f16 x2 se 0.25 }
  head { conv f32 pool avg classes 10 }
}
space S from M {
  block * { e [3, 6]  k [3, 5]  se [0, 0.25] }
  block b2 { f [0.5, 1] x [-1, 0] }
}
`;

describe('mnas/childDetail', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start(); });
  after(async () => assert.equal(await client.stop(), 0));

  test('a sampled child: the same blocks and numbers as the report page', async () => {
    const a = analyzeText(SPACE);
    const space = (a.local.get('S') as SpaceEntry).resolution.space as ResolvedSpace;
    const ds = decisions(space);
    for (const [i, pick] of [0, 1].entries()) {
      const spec = sample(space, ds.map((d) => (pick + i) % d.options), `S_c000${i}`);
      const params: ChildDetailParams = { id: i, name: spec.name, model: printModel(spec) };
      const got = await client.request<ChildDetailResult>(CHILD_DETAIL_REQUEST, params);
      assert.deepEqual(got, childDetail({ ...params, spec }));
      assert.ok(got && got.blocks.length === 2 && got.params > 0);
    }
  });

  test('text without that model, or with errors, or not text: null, and the server lives on', async () => {
    assert.equal(await client.request<ChildDetailResult>(CHILD_DETAIL_REQUEST, { id: 1, name: 'Other', model: 'model M { input 8x8x1 block b1 { conv f8 } }' }), null);
    assert.equal(await client.request<ChildDetailResult>(CHILD_DETAIL_REQUEST, { id: 1, name: 'M', model: 'model M { input 8x8x1 block b1 { conv f8 k4 } }' }), null);
    assert.equal(await client.request<ChildDetailResult>(CHILD_DETAIL_REQUEST, { id: 'x', name: 3, model: null }), null);
    const ok = await client.request<ChildDetailResult>(CHILD_DETAIL_REQUEST, { id: 2, name: 'M', model: 'model M { input 8x8x1 block b1 { conv f8 } }' });
    assert.equal(ok?.blocks.length, 1);
  });
});

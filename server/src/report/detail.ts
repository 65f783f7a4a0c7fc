// One child's blocks with output shape, params and mult-adds per block: the cost model's
// numbers, for the detail pane of a results view. `mnas report --html` embeds them; the VS Code
// panel asks the language server (lsp/childDetail.ts), so the extension bundle carries no cost model.
import { toArch, type ModelSpec } from '../language/arch';
import { costOf } from '../cost/model';
import type { ChildRecord } from '../search/runFolder';
import type { ChildDetail } from './data';

/** The blocks of one child with output shape, params and mult-adds per block (the cost model's numbers). */
export function childDetail(c: Pick<ChildRecord, 'id' | 'name' | 'model'> & { spec: ModelSpec }): ChildDetail {
  const cost = costOf(toArch(c.spec));
  const arch = toArch(c.spec);
  return {
    id: c.id,
    name: c.name,
    model: c.model,
    params: cost.params,
    multAdds: cost.multAdds,
    blocks: cost.blocks.map((bc, i) => {
      const a = arch.blocks[i];
      return {
        name: bc.name, op: a.op, k: a.k, e: a.e, s: a.s, f: a.f, x: a.x, se: a.se, skip: a.skip,
        out: `${bc.out.h}x${bc.out.w}x${bc.out.c}`, params: bc.params, multAdds: bc.multAdds,
      };
    }),
  };
}

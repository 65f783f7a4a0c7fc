// The network a child is trained as on the proxy task: the proxy dataset's input and classes,
// and the search's width factor (the full-size network is what is timed).
import type { ModelSpec } from '../language/arch';
import type { SearchConfig } from '../language/searchConfig';
import type { DataSpec } from '../train/trainer';

/** The network trained on the proxy task: proxy input, classes and width. */
export function proxySpec(spec: ModelSpec, config: SearchConfig, data: DataSpec): ModelSpec {
  const [c, h, w] = data.shape;
  const res = config.dataset.resolution;
  return {
    ...spec,
    input: { h: res ?? h, w: res ?? w, c },
    width: spec.width * (config.dataset.width ?? 1),
    head: spec.head ? { ...spec.head, classes: data.classes } : { f: null, pool: 'avg', classes: data.classes, dropout: 0 },
  };
}

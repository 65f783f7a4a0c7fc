// Shared by the worker tests: a seeded random Arch generator covering the search space, the
// small training network, and a hostile weights file.
import { execFileSync } from 'node:child_process';
import type { ActName, OpName, SkipName } from '../../server/src/language/ast';
import type { Arch, BlockArch } from '../../server/src/language/arch';
import { mulberry32 } from '../../server/src/train/datasets';

export function randomArch(rand: () => number, name: string): Arch {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const acts: ActName[] = ['relu', 'relu6', 'swish', 'hswish'];
  const side = int(32, 96);
  const blocks: BlockArch[] = Array.from({ length: int(1, 4) }, (_, i) => {
    const op = pick<OpName>(['conv', 'sepconv', 'mbconv']);
    return {
      name: `b${i}`, op, e: op === 'mbconv' ? pick([1, 3, 6]) : 1, k: pick([3, 5, 7]), s: pick([1, 2]),
      f: pick([8, 12, 16, 24, 32, 40]), x: int(1, 3), se: pick([0, 0.25]),
      skip: pick<SkipName>(['identity', 'pool', 'none']), act: pick(acts),
    };
  });
  const r = rand();
  return {
    name,
    input: { h: side, w: rand() < 0.7 ? side : int(32, 96), c: pick([1, 3]) },
    stem: rand() < 0.75 ? { k: pick([3, 5]), s: pick([1, 2]), f: pick([8, 16, 24]), act: pick(acts) } : null,
    blocks,
    head: r < 0.1 ? null : {
      f: rand() < 0.5 ? pick([32, 64, 128]) : null, pool: pick(['avg', 'max'] as const),
      classes: rand() < 0.8 ? int(2, 100) : null, dropout: pick([0, 0.2]),
    },
  };
}

export function randomArchs(seed: number, n: number): Arch[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => randomArch(rand, `rand${i}`));
}

/** The small network of the training test: stem + two MBConv blocks, 28x28x1, 10 classes. */
export function tinyArch(): Arch {
  return {
    name: 'tiny', input: { h: 28, w: 28, c: 1 },
    stem: { k: 3, s: 1, f: 8, act: 'relu' },
    blocks: [
      { name: 'b1', op: 'mbconv', e: 3, k: 3, s: 2, f: 16, x: 1, se: 0, skip: 'identity', act: 'relu' },
      { name: 'b2', op: 'mbconv', e: 3, k: 3, s: 2, f: 24, x: 2, se: 0.25, skip: 'identity', act: 'relu' },
    ],
    head: { f: null, pool: 'avg', classes: 10, dropout: 0 },
  };
}

/**
 * Writes a weights.pt whose pickle runs `touch marker` when unpickled by a plain torch.load
 * (its __reduce__ names subprocess.call): the attack a hostile queue worker or run folder could send.
 */
export function writeMaliciousWeights(python: string, file: string, marker: string): void {
  const script = [
    'import subprocess, sys, torch',
    'class Evil:',
    '    def __reduce__(self):',
    '        return (subprocess.call, (["touch", sys.argv[2]],))',
    'torch.save({"stem.conv.weight": Evil()}, sys.argv[1])',
  ].join('\n');
  execFileSync(python, ['-c', script, file, marker]);
}

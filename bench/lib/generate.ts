// A seeded, deterministic generator of a large, valid .mnas file for the language benchmarks:
// many MobileNetV2/MnasNet-like models (7-9 blocks of realistic fields), a few search spaces
// over them and a few searches. The same seed and line count always give the same text.
//
//   node --import tsx bench/lib/generate.ts [lines] [seed]   # writes the fixture and says where
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GENERATED = path.join(ROOT, 'bench', 'fixtures', 'generated');
export const DEFAULT_SEED = 20190101;

/** mulberry32: small, fast and fully determined by its seed. */
function rng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

export interface Generated {
  text: string;
  lines: number;
  models: number;
  blocks: number;
  spaces: number;
  searches: number;
  /** Offsets of every model block's name (hover targets). */
  blockNames: number[];
}

/** MobileNetV2-like stages: stride and base filters; the generator perturbs them. */
const STAGES = [
  { s: 1, f: 16 }, { s: 2, f: 24 }, { s: 2, f: 40 }, { s: 2, f: 80 }, { s: 1, f: 112 }, { s: 2, f: 160 }, { s: 1, f: 320 },
];

function modelText(name: string, r: ReturnType<typeof rng>): string[] {
  const lines: string[] = [];
  const res = r.pick([224, 224, 192, 160, 128]);
  lines.push(`// ${name}: generated, seeded (bench/lib/generate.ts)`);
  lines.push(`model ${name} {`);
  lines.push(`  input ${res}x${res}x3`);
  if (r.next() < 0.2) lines.push(`  width ${r.pick(['0.5', '0.75', '1.4'])}`);
  if (r.next() < 0.1) lines.push(`  depth ${r.pick(['0.5', '1.2'])}`);
  lines.push(`  act ${r.pick(['relu', 'relu', 'relu6', 'swish', 'hswish'])}`);
  lines.push(`  stem conv k3 s2 f${r.pick([16, 24, 32, 32, 40])}`);
  const stages = r.next() < 0.3 ? [...STAGES, { s: 1, f: 384 }, { s: 1, f: 448 }].slice(0, r.int(8, 9)) : STAGES;
  stages.forEach((st, i) => {
    const f = Math.max(8, Math.round((st.f * r.pick([0.75, 1, 1, 1.25])) / 8) * 8);
    const x = i === 0 || i >= 6 ? 1 : r.int(1, 4);
    const op = i === 0 ? r.pick(['sepconv', 'mbconv']) : r.pick(['mbconv', 'mbconv', 'mbconv', 'mbconv', 'sepconv', 'conv']);
    const parts = [op];
    if (op === 'mbconv') parts.push(`e${i === 0 ? 1 : r.pick([3, 4, 6, 6])}`);
    parts.push(`k${r.pick([3, 3, 5, 7])}`, `s${st.s}`, `f${f}`, `x${x}`);
    if (r.next() < 0.35) parts.push('se 0.25');
    const skip = r.next();
    if (skip < 0.1) parts.push('skip none');
    else if (skip < 0.2) parts.push('skip pool');
    if (r.next() < 0.1) parts.push(r.pick(['relu6', 'swish']));
    lines.push(`  block b${i + 1} { ${parts.join(' ')} }`);
  });
  const dropout = r.next() < 0.5 ? ` dropout ${r.pick(['0.2', '0.3'])}` : '';
  lines.push(`  head conv f${r.pick([1024, 1280, 1280, 1536])} pool avg classes ${r.pick([1000, 1000, 10, 100])}${dropout}`);
  lines.push('}');
  lines.push('');
  return lines;
}

/** Layer counts per block of a generated model, read back from its lines. */
function layersOf(model: string[]): number[] {
  return model.filter((l) => l.startsWith('  block ')).map((l) => Number(/ x(\d+)/.exec(l)![1]));
}

function spaceText(name: string, from: string, model: string[], r: ReturnType<typeof rng>): string[] {
  const lines = [`space ${name} from ${from} {`, '  block * {', '    op [conv, sepconv, mbconv]', '    e [3, 6]', '    k [3, 5]',
    '    se [0, 0.25]', '    skip [identity, pool, none]', '    f * [0.75, 1.0, 1.25]', '    x + [0, 1]', '  }'];
  layersOf(model).forEach((x, i) => {
    if (x >= 2 && r.next() < 0.6) lines.push(`  block b${i + 1} { x + [-1, 0, 1] }`);
  });
  lines.push('}', '');
  return lines;
}

function searchText(name: string, space: string, r: ReturnType<typeof rng>): string[] {
  return [
    `search ${name} {`, `  space ${space}`, `  target ${r.pick([22, 50, 75, 100])}ms`, `  reward ${r.pick(['soft', 'hard'])}`,
    '  max params 6M', '  latency local', '  dataset mnist {', '    train 4000', '    test 1000', '  }',
    `  budget { children ${r.pick([24, 48, 96])}  epochs 1  batch 64 }`, '  controller { lr 0.00035  clip 0.2 }', `  seed ${r.int(1, 9)}`, '}', '',
  ];
}

/** Exactly `lines` lines (a trailing newline ends the last one). */
export function generate(lines = 5000, seed = DEFAULT_SEED, spaces = 4, searches = 3): Generated {
  const r = rng(seed);
  const models: string[][] = [];
  const tail: string[] = [];
  // Spaces and searches go last; reserve room for them from a first, fixed-size estimate.
  const reserve = spaces * 18 + searches * 15;
  let used = 2;
  while (true) {
    const m = modelText(`Gen${String(models.length + 1).padStart(4, '0')}`, r);
    if (used + m.length > lines - reserve) break;
    models.push(m);
    used += m.length;
  }
  for (let i = 0; i < spaces && i < models.length; i++) {
    const from = Math.floor((i * models.length) / spaces);
    tail.push(...spaceText(`Space${i + 1}`, `Gen${String(from + 1).padStart(4, '0')}`, models[from], r));
  }
  for (let i = 0; i < searches; i++) tail.push(...searchText(`Search${i + 1}`, `Space${(i % Math.max(1, spaces)) + 1}`, r));
  const out = [`// ${lines}-line benchmark input, seed ${seed}. Generated by bench/lib/generate.ts; do not edit.`, ''];
  for (const m of models) out.push(...m);
  out.push(...tail);
  if (out.length > lines) throw new Error(`generator overflow: ${out.length} lines > ${lines}`);
  while (out.length < lines) out.push(`// padding ${out.length + 1}`);
  const text = out.join('\n') + '\n';
  const blockNames: number[] = [];
  const re = /^ {2}block (b\d+) \{ (?:conv|sepconv|mbconv)/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) blockNames.push(m.index + '  block '.length);
  return {
    text, lines, models: models.length, blocks: blockNames.length, spaces: Math.min(spaces, models.length), searches, blockNames,
  };
}

/** Generates and writes bench/fixtures/generated/language-<lines>.mnas (git-ignored); returns its path too. */
export function writeFixture(lines = 5000, seed = DEFAULT_SEED): Generated & { file: string } {
  const g = generate(lines, seed);
  fs.mkdirSync(GENERATED, { recursive: true });
  const file = path.join(GENERATED, `language-${lines}.mnas`);
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== g.text) fs.writeFileSync(file, g.text);
  return { ...g, file };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const g = writeFixture(Number(process.argv[2] ?? 5000), Number(process.argv[3] ?? DEFAULT_SEED));
  console.log(`${path.relative(ROOT, g.file)}: ${g.lines} lines, ${g.models} models, ${g.blocks} blocks, ${g.spaces} spaces, ${g.searches} searches`);
}

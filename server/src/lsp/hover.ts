// Hover: cost figures on models, blocks, spaces and choices; help on search settings; a
// short doc on keywords and fields. Pure: (analysis, position, options) -> Hover | null.
import type { Hover, Position } from 'vscode-languageserver';
import type { IToken } from 'chevrotain';
import type { Analysis, Entry, ModelEntry, SpaceEntry } from '../analysis/analysis';
import type { SettingNode, SettingValue, Span } from '../language/ast';
import { withheld } from '../language/resolve';
import { BLOCK_KEYS, DATASETS, type DatasetName, describeTarget, SEARCH_KEYS, type SearchConfig, TIME_UNITS } from '../language/searchConfig';
import { blockMarkdown, choiceMarkdown, formatMs, inputMarkdown, type LatencyContext, latencyEstimate, modelMarkdown, opsMarkdown, spaceMarkdown } from './costMarkdown';
import { wordDoc } from './keywordDocs';
import { targetAt, tokenAt } from './nodeAt';
import { offsetOf, rangeOf } from './positions';

export interface HoverOptions {
  showLayers: boolean;
  /** The active device profile (setting `mnas.deviceProfile`): latency lines on models and blocks. */
  latency?: LatencyContext;
}

function entryOf<K extends Entry['kind']>(a: Analysis, name: string | undefined, kind: K): Extract<Entry, { kind: K }> | undefined {
  const e = name === undefined ? undefined : a.scope.get(name);
  return e?.kind === kind ? (e as Extract<Entry, { kind: K }>) : undefined;
}

/** The model entry for a node of this file (not a same-named duplicate). */
function localModel(a: Analysis, name: string, start: number): ModelEntry | undefined {
  const e = a.local.get(name);
  return e?.kind === 'model' && e.node.span.start === start ? e : undefined;
}

const tokenSpan = (t: IToken): Span => ({ start: t.startOffset, end: t.startOffset + t.image.length });

export function hover(a: Analysis, params: { position: Position }, options: HoverOptions = { showLayers: true }): Hover | null {
  const offset = offsetOf(a, params.position);
  const tok = tokenAt(a, offset);
  const target = targetAt(a, offset);
  const doc = tok ? wordDoc(tok.image) : undefined;
  let value: string | undefined;
  let span: Span | undefined = tok ? tokenSpan(tok) : undefined;
  const withDoc = (md: string | undefined) => [doc && `\`${tok!.image}\`: ${doc}`, md].filter(Boolean).join('\n\n---\n\n') || undefined;

  switch (target?.kind) {
    case 'model-name': {
      const e = localModel(a, target.model.name.value, target.model.span.start);
      value = e && modelMarkdown(e, options.latency);
      break;
    }
    case 'block': {
      const e = localModel(a, target.model.name.value, target.model.span.start);
      const md = e && blockMarkdown(e, target.index, options.showLayers, options.latency);
      value = target.onName ? md : withDoc(md);
      if (!tok || tok.image === '{' || tok.image === '}') span = target.block.span;
      break;
    }
    case 'input': {
      const e = localModel(a, target.model.name.value, target.model.span.start);
      value = e && inputMarkdown(e, options.latency);
      break;
    }
    case 'stem': case 'head': {
      const e = localModel(a, target.model.name.value, target.model.span.start);
      const why = e && withheld(e.resolved, target.kind);
      const ops = e ? (target.kind === 'stem' ? (e.cost.stem ? [e.cost.stem] : []) : e.cost.head) : [];
      value = withDoc(why ? `**${target.kind}**\n\n${why}` : ops.length ? opsMarkdown(target.kind, ops) : undefined);
      break;
    }
    case 'space-name': {
      const e = a.local.get(target.space.name.value);
      value = e?.kind === 'space' && e.node === target.space ? spaceMarkdown(e) : undefined;
      break;
    }
    case 'space-from': {
      const e = entryOf(a, target.space.from?.value, 'model');
      value = e && modelMarkdown(e, options.latency);
      break;
    }
    case 'space-block': {
      const sk = entryOf(a, target.space.from?.value, 'model');
      const name = target.block.name.value;
      const index = sk ? sk.node.blocks.findIndex((b) => b.name.value === name) : -1;
      if (target.onName && sk && index >= 0) value = `Skeleton \`${sk.node.name.value}\`:\n\n${blockMarkdown(sk, index, false)}`;
      else if (target.onName && name === '*') value = `\`block *\`: these choices apply to every block of the skeleton; a named block overrides them.`;
      else value = withDoc(undefined);
      break;
    }
    case 'choice': {
      if (target.value === undefined) { value = withDoc(undefined); break; }
      const space = a.local.get(target.space.name.value) as SpaceEntry | undefined;
      const resolved = space?.kind === 'space' && space.node === target.space && !!space.resolution.space;
      const sk = entryOf(a, target.space.from?.value, 'model');
      value = resolved && sk ? choiceMarkdown(sk, target.block.name.value, target.choice, target.value) : withDoc(undefined);
      break;
    }
    case 'search-name': {
      const e = a.local.get(target.search.name.value);
      value = e?.kind === 'search' ? searchMarkdown(e.resolution.config, target.search.name.value) : undefined;
      break;
    }
    case 'setting':
      value = settingMarkdown(a, target.setting, target.parent, target.onKey, target.value, options.latency);
      break;
    case 'import': {
      const imp = a.imports.find((i) => i.node === target.node);
      if (imp) {
        const names = [...a.scope.values()].filter((e) => e.file === imp.file).map((e) => `\`${e.node.name.value}\``);
        value = `\`${imp.file}\`${imp.ok ? `\n\nDeclares ${names.join(', ') || 'nothing'}.` : ' (not found)'}`;
      }
      break;
    }
    default:
      value = withDoc(undefined);
  }
  if (!value) return null;
  return { contents: { kind: 'markdown', value }, range: span ? rangeOf(a, span) : undefined };
}

function searchMarkdown(config: SearchConfig | undefined, name: string): string {
  if (!config) return `**search ${name}**\n\nIncomplete: it needs at least \`space\` and \`target\`.`;
  const r = config.reward;
  const lat = config.latency.kind === 'local' ? 'this machine' : config.latency.kind === 'profile' ? `profile \`${config.latency.name}\`` : `adb device \`${config.latency.serial}\``;
  return [
    `**search ${name}**: samples \`${config.space}\` towards **${describeTarget(config.target)}**${config.target.kind === 'relative' ? ' (T measured when the run starts)' : ''}`,
    '',
    `- reward: ${r.preset} (alpha ${r.alpha}, beta ${r.beta})`,
    `- latency from: ${lat}`,
    `- dataset: ${config.dataset.name}, ${config.dataset.train} train / ${config.dataset.test} test`,
    `- budget: ${config.budget.children} children × ${config.budget.epochs} epoch(s), batch ${config.budget.batch}`,
    `- strategy: ${config.strategy}, seed ${config.seed}`,
  ].join('\n');
}

/**
 * `target 0.8x Tiny`: T is measured on the search's own latency source when a run starts; the
 * hover resolves it on the editor's device profile (`mnas.deviceProfile`) as a preview.
 */
function relativeTargetMarkdown(a: Analysis, s: SettingNode, latency: LatencyContext | undefined): string | undefined {
  const [f, m] = s.values;
  if (f?.type !== 'quantity' || f.unit !== 'x' || m?.type !== 'word') return undefined;
  const factor = f.value as number;
  const name = String(m.value);
  const head = `Target latency T = **${factor} × latency of \`${name}\`** on this search's latency source, measured once when a run starts (kept in run.json; a resumed run reuses it).`;
  const model = entryOf(a, name, 'model');
  if (!model) return `${head}\n\nNo model \`${name}\` is declared or imported here.`;
  if (!latency) return `${head}\n\nSet \`mnas.deviceProfile\` to see T in milliseconds for a device here.`;
  if ('error' in latency) return `${head}\n\nDevice profile: ${latency.error}`;
  const est = latencyEstimate(latency, model)!;
  return `${head}\n\nOn \`${est.profile}\`: \`${name}\` ≈ ${formatMs(est.ms)} ms, so **T ≈ ${formatMs(factor * est.ms)} ms** (±${est.uncertaintyPct.toFixed(0)}%).`;
}

function settingMarkdown(a: Analysis, s: SettingNode, parent: SettingNode | undefined, onKey: boolean, v: SettingValue | undefined, latency?: LatencyContext): string | undefined {
  const key = s.key.value;
  if (onKey) {
    const help = parent ? BLOCK_KEYS[parent.key.value]?.[key] : SEARCH_KEYS[key];
    return help ? `\`${key}\`: ${help}` : undefined;
  }
  if (!v) return undefined;
  if (!parent && key === 'target' && s.values.length === 2) return relativeTargetMarkdown(a, s, latency);
  if (!parent && key === 'target' && v.type === 'quantity' && v.unit! in TIME_UNITS) {
    const ms = (v.value as number) * TIME_UNITS[v.unit!];
    return `Target latency T = **${Number(ms.toPrecision(12))} ms**`;
  }
  if (!parent && key === 'space' && typeof v.value === 'string') {
    const e = entryOf(a, v.value, 'space');
    return e ? spaceMarkdown(e) : undefined;
  }
  if (!parent && key === 'dataset' && v === s.values[0] && typeof v.value === 'string' && Object.hasOwn(DATASETS, v.value)) return `\`${v.value}\`: ${DATASETS[v.value as DatasetName].doc}`;
  // Inline block form: `budget children 24 epochs 1`.
  const inline = BLOCK_KEYS[parent ? parent.key.value : key];
  if (inline && typeof v.value === 'string' && inline[v.value]) return `\`${v.value}\`: ${inline[v.value]}`;
  const doc = typeof v.value === 'string' ? wordDoc(v.value) : undefined;
  return doc ? `\`${v.value}\`: ${doc}` : undefined;
}

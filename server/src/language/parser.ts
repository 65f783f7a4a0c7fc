// Chevrotain parser for .mnas, building the AST directly (embedded actions).
// The file is cut into top-level declarations first (see `splitDeclarations`), and each
// declaration is parsed on its own with chevrotain's error recovery, so one broken model
// never hides the next one and a file with three errors reports three diagnostics. The text
// is lexed and parsed per segment (segments.ts), so an edit redoes only the declarations it touches.
import { EmbeddedActionsParser, ILexingError, IOrAlt, IRecognitionException, IToken, tokenMatcher } from 'chevrotain';
import * as T from './tokens';
import type {
  ActName, BlockNode, ChoiceField, ChoiceNode, Decl, FileNode, HeadNode, ImportNode, InputShape,
  LayerSpecNode, Located, ModelNode, OpName, PoolName, RepeatedField, SearchNode, SettingNode,
  SettingValue, SkipName, SpaceBlockNode, SpaceNode, Span,
} from './ast';
import { syntaxErrorMessages } from './parseErrors';
import { closest, type QuickFix, quoted } from './problems';
import { relex, type Segmented, startsDecl } from './segments';

export interface SyntaxProblem {
  message: string;
  span: Span;
  /** Machine-readable code, for quick fixes and docs. */
  code: string;
  fixes?: QuickFix[];
}

export interface ParseResult {
  file: FileNode;
  tokens: IToken[];
  comments: IToken[];
  problems: SyntaxProblem[];
  /** The text's segments and what each parsed to: the base for `parse(text, previous)`. */
  segments: Segmented<SegmentParse>;
}

/** What one segment of the text parsed to: its declarations and syntax problems, owned by it. */
export interface SegmentParse {
  decls: Decl[];
  problems: SyntaxProblem[];
  /**
   * Where each declaration parsed here starts (zero-width): moved with the rest, so the
   * declaration cache, which shares these nodes, knows where they stand now.
   */
  starts: Span[];
}

function span(tok: IToken): Span {
  return { start: tok.startOffset, end: tok.startOffset + tok.image.length };
}
function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}
/** A value at its token; undefined for a token chevrotain inserted during recovery. */
function located<V>(value: V, tok: IToken): Located<V> {
  return (isReal(tok) && tok.image.length > 0 ? { value, span: span(tok) } : undefined) as Located<V>;
}
function isReal(tok: IToken | undefined): tok is IToken {
  return !!tok && Number.isFinite(tok.startOffset) && tok.startOffset >= 0 && typeof tok.image === 'string';
}
function unquote(image: string): string {
  return image.slice(1, -1).replace(/\\(.)/g, '$1');
}

const LAYER_LETTERS: Record<string, 'e' | 'k' | 's' | 'f' | 'x'> = { e: 'e', k: 'k', s: 's', f: 'f', x: 'x' };
/** The words a block may hold, for "did you mean" on a misspelt one. */
const BLOCK_WORDS = ['conv', 'sepconv', 'mbconv', 'relu', 'relu6', 'swish', 'hswish', 'se', 'skip', 'identity', 'pool', 'none'];
const BLOCK_HELP = 'A block holds an op (`conv`, `sepconv`, `mbconv`), fields such as `e6 k3 s2 f32 x2`, `se 0.25`, `skip identity|pool|none` and an activation.';
const adjacent = (a: IToken, b: IToken) => isReal(a) && isReal(b) && b.startOffset === a.startOffset + a.image.length;
const replaceFix = (at: Span, newText: string): QuickFix[] => [{ title: newText ? `Change to '${newText}'` : 'Remove it', edits: [{ span: at, newText }], preferred: true }];

class MnasParser extends EmbeddedActionsParser {
  /** `checked`: with chevrotain's grammar validations (ambiguities, left recursion...), which a test runs. */
  constructor(checked = false) {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: syntaxErrorMessages, skipValidations: !checked });
    this.performSelfAnalysis();
  }

  /** Set per declaration so spans of empty/recovered nodes have somewhere to sit. */
  anchor: Span = { start: 0, end: 0 };
  /**
   * The declaration being built, registered as soon as it exists: when recovery cannot
   * finish a rule (a `}` missing at the end of the input) the partial node still counts.
   */
  partial: Decl | undefined;

  private spanFrom(first: IToken | undefined): Span {
    const last = this.LA(0);
    const start = isReal(first) ? first.startOffset : this.anchor.start;
    const end = isReal(last) ? last.startOffset + last.image.length : start;
    return { start, end: Math.max(start, end) };
  }

  private nameAlts?: IOrAlt<IToken>[];
  private name = this.RULE('name', (): Located<string> => {
    const tok = this.OR(this.nameAlts ??= [
      { ALT: () => this.CONSUME(T.Word) },
      { ALT: () => this.CONSUME(T.Abbrev) },
    ]);
    return this.RECORDING_PHASE ? undefined as unknown as Located<string> : located(tok.image, tok);
  });

  public declaration = this.RULE('declaration', (): Decl | undefined => {
    return this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.spaceDecl) },
      { ALT: () => this.SUBRULE(this.searchDecl) },
    ]);
  });

  private importDecl = this.RULE('importDecl', (): ImportNode => {
    const kw = this.CONSUME(T.Import);
    const path = this.CONSUME(T.StringLit);
    return this.ACTION(() => ({
      kind: 'import' as const,
      path: isReal(path) ? located(unquote(path.image), path) : { value: '', span: span(kw) },
      span: this.spanFrom(kw),
    })) as ImportNode;
  });

  /** The model being built (a field, so the per-item alternatives are built once). */
  private model!: ModelNode;
  private modelAlts?: IOrAlt<void>[];
  private modelAlternatives(): IOrAlt<void>[] {
    return this.modelAlts ??= [
      { ALT: () => {
        const k = this.CONSUME(T.Input);
        const shape = this.OR2([
          { ALT: () => {
            const r = this.CONSUME(T.Resolution);
            return this.ACTION(() => {
              const [h, w, c] = r.image.split('x').map(Number);
              return located<InputShape>({ h, w, c: c ?? 3 }, r);
            });
          } },
          { ALT: () => {
            const n = this.CONSUME(T.NumberLit);
            return this.ACTION(() => located<InputShape>({ h: Number(n.image), w: Number(n.image), c: 3 }, n));
          } },
        ]);
        this.ACTION(() => this.setOnce(this.model, 'input', shape, this.spanFrom(k)));
      } },
      { ALT: () => {
        const k = this.CONSUME(T.Width);
        const n = this.CONSUME2(T.NumberLit);
        this.ACTION(() => this.setOnce(this.model, 'width', located(Number(n.image), n), this.spanFrom(k)));
      } },
      { ALT: () => {
        const k = this.CONSUME(T.Depth);
        const n = this.CONSUME3(T.NumberLit);
        this.ACTION(() => this.setOnce(this.model, 'depth', located(Number(n.image), n), this.spanFrom(k)));
      } },
      { ALT: () => {
        const k = this.CONSUME(T.Act);
        const a = this.CONSUME(T.ActKw);
        this.ACTION(() => this.setOnce(this.model, 'act', located(a.image as ActName, a), this.spanFrom(k)));
      } },
      { ALT: () => {
        const k = this.CONSUME(T.Stem);
        const spec = this.OR3([
          { ALT: () => {
            this.CONSUME2(T.LBrace);
            const s = this.SUBRULE(this.bracedFields);
            this.CONSUME2(T.RBrace);
            return s;
          } },
          { ALT: () => this.SUBRULE(this.layerFields) },
        ]);
        this.ACTION(() => {
          const stem = { ...spec, keyword: span(k), span: join(span(k), this.spanFrom(k)) };
          this.setOnce(this.model, 'stem', stem, this.spanFrom(k));
        });
      } },
      { ALT: () => {
        const b = this.SUBRULE(this.blockDecl);
        this.ACTION(() => { if (b) this.model.blocks.push(b); });
      } },
      { ALT: () => {
        const h = this.SUBRULE(this.headDecl);
        this.ACTION(() => { if (h) this.setOnce(this.model, 'head', h, { ...h.span }); });
      } },
    ];
  }

  private modelDecl = this.RULE('modelDecl', (): ModelNode => {
    const kw = this.CONSUME(T.Model);
    const name = this.SUBRULE(this.name);
    const model = this.ACTION(() => ({
      kind: 'model' as const, name, span: span(kw), blocks: [] as BlockNode[], repeated: [] as RepeatedField[],
    })) as ModelNode;
    this.ACTION(() => { this.partial = model; this.model = model; });
    const open = this.CONSUME(T.LBrace);
    this.ACTION(() => { if (isReal(open)) model.open = span(open); });
    const alts = this.modelAlternatives();
    this.MANY(() => this.OR(alts));
    this.CONSUME(T.RBrace);
    this.ACTION(() => { model.span = this.spanFrom(kw); });
    return model;
  });

  /** Records a model-level item, or notes that it was given twice (`at`: all of the repeat). */
  private setOnce<K extends 'input' | 'width' | 'depth' | 'act' | 'stem' | 'head'>(
    model: ModelNode, key: K, value: ModelNode[K], at: Span,
  ): void {
    if (model[key] !== undefined) model.repeated.push({ field: key, span: at });
    else model[key] = value;
  }

  private blockDecl = this.RULE('blockDecl', (): BlockNode => {
    const kw = this.CONSUME(T.Block);
    const name = this.SUBRULE(this.name);
    this.CONSUME(T.LBrace);
    const spec = this.SUBRULE(this.bracedFields);
    this.CONSUME(T.RBrace);
    return this.ACTION(() => ({ kind: 'block' as const, name, spec, span: this.spanFrom(kw) })) as BlockNode;
  });

  /** The layer spec being filled by `layerFields` or `bracedFields` (a field, so the alternatives can be cached). */
  private spec: LayerSpecNode = { span: { start: 0, end: 0 }, repeated: [] };
  /** Problems found by the grammar's own actions (typos inside blocks), per declaration. */
  typos: SyntaxProblem[] = [];

  /**
   * A word that is no block field: reported where it stands, with "did you mean" and a fix,
   * and skipped so that the block and its other fields survive. Glued or negative forms whose
   * meaning is plain (`se0.25`, `f-8`) keep their value: the field's own check then speaks.
   */
  private typo(word: IToken, num: IToken | undefined): void {
    const at: Span = { start: word.startOffset, end: (num ?? word).startOffset + (num ?? word).image.length };
    const image = word.image + (num?.image ?? '');
    const se = /^se(\d+(?:\.\d*)?|\.\d+)$/.exec(image);
    if (se) {
      this.putField('se', { value: Number(se[1]), span: at }, at);
      this.typos.push({ code: 'field-form', span: at, message: `Write \`se ${se[1]}\`: the SE ratio is a separate number after \`se\`.`, fixes: replaceFix(at, `se ${se[1]}`) });
      return;
    }
    const signed = /^([eksfx])(-\d+(?:\.\d+)?)$/.exec(image);
    if (signed) {
      this.putField(LAYER_LETTERS[signed[1]], { value: Number(signed[2]), span: at }, at);
      return;
    }
    this.spec.typos = [...(this.spec.typos ?? []), at];
    const near = closest(image, BLOCK_WORDS);
    this.typos.push({
      code: 'unknown-field', span: at,
      message: `\`${image}\` is not a block field.${near ? ` Did you mean \`${near}\`?` : ''} ${BLOCK_HELP}`,
      fixes: near ? replaceFix(at, near) : [{ title: `Remove '${image}'`, edits: [{ span: at, newText: '' }] }],
    });
  }

  private putField<K extends keyof LayerSpecNode>(key: K, value: LayerSpecNode[K], at: Span): void {
    const spec = this.spec;
    if (spec[key] !== undefined) spec.repeated.push({ field: key, span: at });
    else spec[key] = value;
  }

  /**
   * The hottest rule (once per block field), so it follows chevrotain's performance advice:
   * the alternatives are built once, and semantic code is guarded by RECORDING_PHASE
   * instead of allocating an ACTION closure per field. No alternative has a GATE, so the
   * choice is one table look-up on the next token (a gated OR tests every alternative).
   */
  private layerAlts?: IOrAlt<void>[];
  private layerAlternatives(): IOrAlt<void>[] {
    return this.layerAlts ??= [
      { ALT: () => {
        const t = this.CONSUME(T.OpKw);
        if (!this.RECORDING_PHASE) this.putField('op', located(t.image as OpName, t), span(t));
      } },
      { ALT: () => {
        const t = this.CONSUME(T.Abbrev);
        if (!this.RECORDING_PHASE) this.putField(LAYER_LETTERS[t.image[0]], located(Number(t.image.slice(1)), t), span(t));
      } },
      { ALT: () => {
        const k = this.CONSUME(T.Se);
        const n = this.CONSUME(T.NumberLit);
        if (!this.RECORDING_PHASE) this.putField('se', located(Number(n.image), n), this.spanFrom(k));
      } },
      { ALT: () => {
        const k = this.CONSUME(T.Skip);
        const t = this.CONSUME(T.SkipKw);
        if (!this.RECORDING_PHASE) this.putField('skip', located(t.image as SkipName, t), this.spanFrom(k));
      } },
      { ALT: () => {
        const a = this.CONSUME(T.ActKw);
        if (!this.RECORDING_PHASE) this.putField('act', located(a.image as ActName, a), span(a));
      } },
    ];
  }

  /**
   * Inside a block's braces, a misspelt field is skipped rather than ending the block (an
   * unbraced stem ends at the first word it does not know): the same fields and these.
   */
  private bracedAlts?: IOrAlt<void>[];
  private bracedAlternatives(): IOrAlt<void>[] {
    return this.bracedAlts ??= [
      ...this.layerAlternatives(),
      { ALT: () => {
        // `k 3`: a field's letter apart from its value.
        const k = this.OR2([
          { ALT: () => this.CONSUME(T.KeyE) }, { ALT: () => this.CONSUME(T.KeyK) }, { ALT: () => this.CONSUME(T.KeyS) },
          { ALT: () => this.CONSUME(T.KeyF) }, { ALT: () => this.CONSUME(T.KeyX) },
        ]);
        const n = this.OPTION(() => this.CONSUME2(T.NumberLit));
        if (this.RECORDING_PHASE) return;
        if (!isReal(n)) { this.typo(k, undefined); return; }
        const at: Span = { start: k.startOffset, end: n.startOffset + n.image.length };
        const glued = `${k.image}${n.image}`;
        this.putField(LAYER_LETTERS[k.image], { value: Number(n.image), span: at }, at);
        this.typos.push({ code: 'field-form', span: at, message: `Write \`${glued}\`: a field's letter and its value go together, without a space.`, fixes: replaceFix(at, glued) });
      } },
      { ALT: () => {
        // `op mbconv`: the space's choice syntax in a model's block.
        const k = this.CONSUME(T.Op);
        const t = this.OPTION2(() => this.CONSUME2(T.OpKw));
        if (this.RECORDING_PHASE) return;
        if (!isReal(t)) { this.typo(k, undefined); return; }
        this.putField('op', located(t.image as OpName, t), this.spanFrom(k));
        const at: Span = { start: k.startOffset, end: t.startOffset };
        this.typos.push({ code: 'field-form', span: { start: k.startOffset, end: t.startOffset + t.image.length }, message: `In a model's block the op stands alone: write \`${t.image}\`, not \`op ${t.image}\` (\`op [...]\` lists choices in a space).`, fixes: [{ title: "Remove 'op'", edits: [{ span: at, newText: '' }], preferred: true }] });
      } },
      { ALT: () => {
        // `mbconvv`, `se0.25` (a word and a number glued), `f-8`.
        const w = this.CONSUME(T.Identifier);
        const n = this.OPTION3({ GATE: () => adjacent(w, this.LA(1)) && tokenMatcher(this.LA(1), T.NumberLit), DEF: () => this.CONSUME3(T.NumberLit) });
        if (!this.RECORDING_PHASE) this.typo(w, isReal(n) ? n : undefined);
      } },
      { ALT: () => {
        const n = this.CONSUME4(T.NumberLit);
        if (this.RECORDING_PHASE) return;
        const at = span(n);
        this.spec.typos = [...(this.spec.typos ?? []), at];
        this.typos.push({ code: 'unknown-field', span: at, message: `A number on its own in a block: write it with its field, e.g. \`k${n.image}\`, \`f${n.image}\`, \`x${n.image}\` or \`se ${n.image}\`.`, fixes: [{ title: `Remove '${n.image}'`, edits: [{ span: at, newText: '' }] }] });
      } },
    ];
  }

  /** `mbconv e6 k3 s2 f24 x2 se 0.25 skip identity relu6`, in any order. */
  private layerFields = this.RULE('layerFields', (): LayerSpecNode => this.fields(this.layerAlternatives()));
  /** The same inside braces, where typos are skipped and reported. */
  private bracedFields = this.RULE('bracedFields', (): LayerSpecNode => this.fields(this.bracedAlternatives()));

  private fields(alts: IOrAlt<void>[]): LayerSpecNode {
    const first = this.LA(1);
    const spec: LayerSpecNode = { span: this.anchor, repeated: [] };
    this.spec = spec;
    this.MANY(() => this.OR(alts));
    if (!this.RECORDING_PHASE) spec.span = isReal(first) && this.LA(0) !== undefined ? this.spanFrom(first) : this.anchor;
    return spec;
  }

  /** `head conv f1280 pool avg classes 1000 dropout 0.2` */
  private headDecl = this.RULE('headDecl', (): HeadNode => {
    const kw = this.CONSUME(T.Head);
    const head = this.ACTION(() => ({ span: span(kw), keyword: span(kw), repeated: [] as RepeatedField[] })) as HeadNode;
    const put = <K extends 'f' | 'pool' | 'classes' | 'dropout'>(key: K, value: HeadNode[K], at: Span) => {
      if (head[key] !== undefined) head.repeated.push({ field: key, span: at });
      else head[key] = value;
    };
    this.MANY(() => {
      this.OR([
        { ALT: () => {
          const k = this.CONSUME(T.Conv);
          const f = this.CONSUME(T.Abbrev);
          this.ACTION(() => put('f', located(Number(f.image.slice(1)), f), this.spanFrom(k)));
        } },
        { ALT: () => {
          const k = this.CONSUME(T.Pool);
          const p = this.CONSUME(T.PoolKw);
          this.ACTION(() => put('pool', located(p.image as PoolName, p), this.spanFrom(k)));
        } },
        { ALT: () => {
          const k = this.CONSUME(T.Classes);
          const n = this.CONSUME(T.NumberLit);
          this.ACTION(() => put('classes', located(Number(n.image), n), this.spanFrom(k)));
        } },
        { ALT: () => {
          const k = this.CONSUME(T.Dropout);
          const n = this.CONSUME2(T.NumberLit);
          this.ACTION(() => put('dropout', located(Number(n.image), n), this.spanFrom(k)));
        } },
      ]);
    });
    this.ACTION(() => { head.span = this.spanFrom(kw); });
    return head;
  });

  private spaceDecl = this.RULE('spaceDecl', (): SpaceNode => {
    const kw = this.CONSUME(T.Space);
    const name = this.SUBRULE(this.name);
    const space = this.ACTION(() => ({ kind: 'space' as const, name, blocks: [] as SpaceBlockNode[], span: span(kw) })) as SpaceNode;
    this.ACTION(() => { this.partial = space; });
    this.OPTION(() => {
      this.CONSUME(T.From);
      const from = this.SUBRULE2(this.name);
      this.ACTION(() => { space.from = from; });
    });
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      const b = this.SUBRULE(this.spaceBlock);
      this.ACTION(() => { if (b) space.blocks.push(b); });
    });
    this.CONSUME(T.RBrace);
    this.ACTION(() => { space.span = this.spanFrom(kw); });
    return space;
  });

  private spaceBlock = this.RULE('spaceBlock', (): SpaceBlockNode => {
    const kw = this.CONSUME(T.Block);
    const name = this.OR([
      { ALT: () => this.SUBRULE(this.name) },
      { ALT: () => {
        const s = this.CONSUME(T.Star);
        return this.ACTION(() => located('*', s));
      } },
    ]);
    const choices: ChoiceNode[] = [];
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      const c = this.SUBRULE(this.choice);
      this.ACTION(() => { if (c) choices.push(c); });
    });
    this.CONSUME(T.RBrace);
    return this.ACTION(() => ({ name, choices, span: this.spanFrom(kw) })) as SpaceBlockNode;
  });

  /** `k [3, 5]`, `f * [0.75, 1.0, 1.25]`, `x + [-1, 0, 1]`, `op [conv, mbconv]`. */
  private choice = this.RULE('choice', (): ChoiceNode => {
    const key = this.OR([
      { ALT: () => this.CONSUME(T.Op) },
      { ALT: () => this.CONSUME(T.KeyE) },
      { ALT: () => this.CONSUME(T.KeyK) },
      { ALT: () => this.CONSUME(T.KeyS) },
      { ALT: () => this.CONSUME(T.KeyF) },
      { ALT: () => this.CONSUME(T.KeyX) },
      { ALT: () => this.CONSUME(T.Se) },
      { ALT: () => this.CONSUME(T.Skip) },
      { ALT: () => this.CONSUME(T.Act) },
    ]);
    let mode: Located<'*' | '+'> | undefined;
    this.OPTION(() => {
      const m = this.OR2([
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.Plus) },
      ]);
      this.ACTION(() => { mode = located(m.image as '*' | '+', m); });
    });
    const open = this.CONSUME(T.LBracket);
    const values: Located<number | string>[] = [];
    this.MANY_SEP({
      SEP: T.Comma,
      DEF: () => {
        const v = this.OR3([
          { ALT: () => this.CONSUME(T.NumberLit) },
          { ALT: () => this.CONSUME(T.Word) },
        ]);
        this.ACTION(() => {
          if (isReal(v)) values.push(located(tokenMatcher(v, T.NumberLit) ? Number(v.image) : v.image, v));
        });
      },
    });
    this.CONSUME(T.RBracket);
    return this.ACTION(() => ({
      field: located(key.image as ChoiceField, key),
      mode,
      values,
      list: this.spanFrom(open),
      span: this.spanFrom(key),
    })) as ChoiceNode;
  });

  private searchDecl = this.RULE('searchDecl', (): SearchNode => {
    const kw = this.CONSUME(T.Search);
    const name = this.SUBRULE(this.name);
    const search = this.ACTION(() => ({ kind: 'search' as const, name, settings: [] as SettingNode[], span: span(kw) })) as SearchNode;
    this.ACTION(() => { this.partial = search; });
    this.CONSUME(T.LBrace);
    this.SUBRULE(this.settings, { ARGS: [search?.settings] });
    this.CONSUME(T.RBrace);
    this.ACTION(() => { search.span = this.spanFrom(kw); });
    return search;
  });

  /** `key value value...` on one line, or `key { settings }`. */
  private settings = this.RULE('settings', (into?: SettingNode[]): SettingNode[] => {
    const out: SettingNode[] = into ?? [];
    this.MANY(() => {
      const key = this.CONSUME(T.Word);
      const values: SettingValue[] = [];
      let children: SettingNode[] | undefined;
      this.MANY2({
        // A setting's values stay on its key's line; the next line starts the next setting.
        GATE: () => isReal(key) && this.LA(1).startLine === key.startLine && !tokenMatcher(this.LA(1), T.LBrace),
        DEF: () => {
          const v = this.OR([
            { ALT: () => this.CONSUME(T.NumberLit) },
            { ALT: () => this.CONSUME(T.Quantity) },
            { ALT: () => this.CONSUME(T.StringLit) },
            { ALT: () => this.CONSUME(T.Resolution) },
            { ALT: () => this.CONSUME(T.Abbrev) },
            { ALT: () => this.CONSUME2(T.Word) },
          ]);
          this.ACTION(() => { if (isReal(v)) values.push(settingValue(v)); });
        },
      });
      this.OPTION(() => {
        this.CONSUME(T.LBrace);
        children = [];
        this.SUBRULE(this.settings, { ARGS: [children] });
        this.CONSUME(T.RBrace);
      });
      this.ACTION(() => {
        if (isReal(key)) out.push({ key: located(key.image, key), values, children, span: this.spanFrom(key) });
      });
    });
    return out;
  });
}

function settingValue(v: IToken): SettingValue {
  const s = span(v);
  if (tokenMatcher(v, T.NumberLit)) return { value: Number(v.image), span: s, type: 'number', raw: v.image };
  if (tokenMatcher(v, T.Quantity)) {
    const m = /^(-?[\d.]+)(ms|us|s|K|M|G|x)$/.exec(v.image)!;
    return { value: Number(m[1]), span: s, type: 'quantity', unit: m[2], raw: v.image };
  }
  if (tokenMatcher(v, T.StringLit)) return { value: unquote(v.image), span: s, type: 'string', raw: v.image };
  if (tokenMatcher(v, T.Resolution)) return { value: v.image, span: s, type: 'resolution', raw: v.image };
  return { value: v.image, span: s, type: 'word', raw: v.image };
}

/**
 * Built once at load (grammar recording, lookahead functions, recovery follow sets), not at the
 * first parse, and without the grammar validations, which cost start-up time and find nothing
 * in a grammar that does not change at run time: `checkGrammar` runs them in a test.
 */
const parser = new MnasParser();

/** Builds the parser with chevrotain's grammar validations: throws on a definition error. */
export function checkGrammar(): void {
  void new MnasParser(true);
}

/**
 * Cuts the token stream into declarations: a declaration keyword starts a new one when it
 * stands at brace depth 0, or at column 1 (so a missing `}` costs one declaration, not the
 * rest of the file). Tokens before any declaration keyword form junk chunks.
 */
export function splitDeclarations(tokens: IToken[]): IToken[][] {
  const chunks: IToken[][] = [];
  let current: IToken[] = [];
  let depth = 0;
  for (const tok of tokens) {
    const boundary = startsDecl(tok) && (depth <= 0 || tok.startColumn === 1);
    if (boundary && current.length > 0) {
      chunks.push(current);
      current = [];
    }
    if (boundary) depth = 0;
    if (tokenMatcher(tok, T.LBrace)) depth++;
    else if (tokenMatcher(tok, T.RBrace)) depth--;
    current.push(tok);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function problemFromException(e: IRecognitionException, textLength: number): SyntaxProblem {
  const prev = (e as IRecognitionException & { previousToken?: IToken }).previousToken;
  const prevEnd = isReal(prev) ? prev.startOffset + prev.image.length : undefined;
  let s: Span;
  if (isReal(e.token) && e.token.tokenType.name !== 'EOF' && !(isReal(prev) && e.token.startLine! > prev.endLine!)) {
    s = span(e.token);
  } else {
    // A missing token (chevrotain inserts one, with no position) or a token found only on a
    // later line: anchor zero-width at the end of the previous token, where the fix goes
    // (Langium's processParsingErrors does the same).
    const at = prevEnd ?? textLength;
    s = { start: at, end: at };
  }
  return { message: e.message, span: s, code: 'syntax' };
}

/**
 * Parsed declarations by their exact source text: editing one declaration of a large file
 * re-parses that declaration only; the others are reused with their spans shifted. An entry
 * shares the nodes of the segment that parsed them (a cold parse copies nothing); a segment
 * moves its nodes in place, `start` with them, so a copy made later is shifted from `start`.
 */
interface ParsedChunk {
  decl: Decl | undefined;
  problems: SyntaxProblem[];
  start: Span;
}
const chunkCache = new Map<string, ParsedChunk>();
const CHUNK_CACHE_SIZE = 20_000;

/** Empties the declaration cache (tests compare cached and fresh parses). */
export function clearParseCache(): void {
  chunkCache.clear();
}

function parseChunk(tokens: IToken[]): { decl: Decl | undefined; problems: SyntaxProblem[] } {
  const problems: SyntaxProblem[] = [];
  parser.anchor = span(tokens[0]);
  parser.partial = undefined;
  parser.typos = [];
  parser.input = tokens;
  let decl: Decl | undefined;
  try {
    decl = parser.declaration();
    const partial = parser.partial as Decl | undefined;
    if (!decl && partial) {
      // Unfinished: the partial declaration spans its whole chunk.
      decl = partial;
      const last = tokens[tokens.length - 1];
      decl.span = { start: tokens[0].startOffset, end: last.startOffset + last.image.length };
    }
  } catch (err) {
    // Chevrotain's recovery should never throw; if it does, report instead of crashing.
    problems.push({ message: `Internal parser error: ${(err as Error).message}`, span: span(tokens[0]), code: 'internal' });
  }
  const last = tokens[tokens.length - 1];
  problems.push(...parser.typos);
  for (const e of parser.errors) problems.push(problemFromException(e, last.startOffset + last.image.length));
  // A declaration whose parts failed to parse still joins the file (hover keeps working on
  // its valid parts); holes left by recovery are filled with empty nodes here, once. Without a
  // syntax error chevrotain recovered nothing and left no hole: most declarations skip this.
  if (decl && (parser.errors.length > 0 || problems.length > parser.typos.length)) normalize(decl, span(tokens[0]));
  return { decl, problems };
}

/** A deep copy of plain syntax data with every span ({start, end}) moved by `delta`. */
function shifted<T>(value: T, delta: number): T {
  if (Array.isArray(value)) return value.map((v) => shifted(v, delta)) as T;
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 2 && typeof o.start === 'number' && typeof o.end === 'number') {
    return { start: o.start + delta, end: o.end + delta } as T;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = shifted(o[k], delta);
  return out as T;
}

/** Lex errors reported one by one; the rest are counted in one more (binary data is not a wall of errors). */
export const LEX_ERRORS_SHOWN = 20;

function lexProblems(text: string, errors: { offset: number; length: number; line?: number; column?: number }[], unterminated: IToken[]): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  for (const t of unterminated) {
    const comment = t.image.startsWith('/*');
    const opener = comment ? '/*' : '"';
    const where = `line ${t.startLine}, column ${t.startColumn}`;
    problems.push({
      code: 'unterminated', span: { start: t.startOffset, end: t.startOffset + opener.length },
      message: comment
        ? `Unterminated comment: the \`/*\` at ${where} has no closing \`*/\`, so everything after it is a comment. Close it with \`*/\`.`
        : `Unterminated string: the \`"\` at ${where} has no closing \`"\` on its line. Close it with \`"\`.`,
    });
  }
  for (const err of errors.slice(0, LEX_ERRORS_SHOWN)) {
    problems.push({
      message: `Unexpected character '${quoted(text.substr(err.offset, err.length), 12)}': not part of the .mnas language. Remove it, or start a comment with // or #.`,
      span: { start: err.offset, end: err.offset + err.length },
      code: 'lex',
    });
  }
  if (errors.length > LEX_ERRORS_SHOWN) {
    const next = errors[LEX_ERRORS_SHOWN];
    const chars = errors.slice(LEX_ERRORS_SHOWN).reduce((n, e) => n + e.length, 0);
    problems.push({
      message: `…and ${errors.length - LEX_ERRORS_SHOWN} more runs of unexpected characters (${chars} characters) from line ${next.line ?? '?'} on: is this a .mnas text file (UTF-8)?`,
      span: { start: next.offset, end: next.offset + next.length },
      code: 'lex',
    });
  }
  return problems;
}

function parseSegment(text: string, tokens: IToken[]): SegmentParse {
  const decls: Decl[] = [];
  const problems: SyntaxProblem[] = [];
  const starts: Span[] = [];
  for (const chunk of splitDeclarations(tokens)) {
    let toks = chunk;
    const firstDecl = chunk.findIndex(startsDecl);
    if (firstDecl !== 0) {
      const junk = firstDecl < 0 ? chunk : chunk.slice(0, firstDecl);
      const a = junk[0];
      const b = junk[junk.length - 1];
      problems.push({
        message: `Unexpected '${quoted(a.image)}' at the top level: a .mnas file holds \`model\`, \`space\`, \`search\` and \`import\` declarations. Start a declaration here, or remove the stray text.`,
        span: { start: a.startOffset, end: b.startOffset + b.image.length },
        code: 'top-level',
      });
      if (firstDecl < 0) continue;
      toks = chunk.slice(firstDecl);
    }
    const start = toks[0].startOffset;
    const last = toks[toks.length - 1];
    const source = text.slice(start, last.startOffset + last.image.length);
    let parsed = chunkCache.get(source);
    if (parsed) {
      chunkCache.delete(source); // refresh its place in the LRU order
      // A copy: the cached nodes belong to the segment that parsed them (and move with it).
      const delta = start - parsed.start.start;
      for (const p of parsed.problems) problems.push(shifted(p, delta));
      if (parsed.decl) decls.push(shifted(parsed.decl, delta));
    } else {
      const fresh = parseChunk(toks);
      parsed = { ...fresh, start: { start, end: start } };
      starts.push(parsed.start);
      for (const p of fresh.problems) problems.push(p);
      if (fresh.decl) decls.push(fresh.decl);
    }
    chunkCache.set(source, parsed);
    if (chunkCache.size > CHUNK_CACHE_SIZE) chunkCache.delete(chunkCache.keys().next().value!);
  }
  return { decls, problems, starts };
}

/**
 * Parses `text`. With `previous` (the last parse of an earlier text of the same document),
 * only the segments the edit touched are lexed and parsed again (see segments.ts); the result
 * is the same as a parse from scratch, and `previous` is spent: its nodes now belong to this one.
 */
export function parse(text: string, previous?: ParseResult): ParseResult {
  const { result, fresh } = relex<SegmentParse>(previous?.segments, text);
  for (const seg of fresh) seg.parsed = parseSegment(text, seg.tokens);
  const file: FileNode = { decls: [], imports: [], models: [], spaces: [], searches: [] };
  const unterminated: IToken[] = [];
  const errors: ILexingError[] = [];
  const syntax: SyntaxProblem[] = [];
  for (const seg of result.segments) {
    for (const t of seg.unterminated) unterminated.push(t);
    for (const e of seg.errors) errors.push(e);
    for (const p of seg.parsed!.problems) syntax.push(p);
    for (const decl of seg.parsed!.decls) {
      file.decls.push(decl);
      if (decl.kind === 'import') file.imports.push(decl);
      else if (decl.kind === 'model') file.models.push(decl);
      else if (decl.kind === 'space') file.spaces.push(decl);
      else file.searches.push(decl);
    }
  }
  const problems = [...lexProblems(text, errors, unterminated), ...syntax];
  // Tokens and comments are joined on first use: diagnostics need neither.
  let tokens: IToken[] | undefined;
  let comments: IToken[] | undefined;
  return {
    file, problems: withoutKnockOns(text, problems, unterminated), segments: result,
    get tokens() { return tokens ??= result.segments.flatMap((seg) => seg.tokens); },
    get comments() { return comments ??= result.segments.flatMap((seg) => seg.comments); },
  };
}

/**
 * Drops the syntax errors an unterminated comment or string causes by itself: a missing token
 * reported where the unterminated one begins (or only whitespace before it), or inside it.
 */
function withoutKnockOns(text: string, problems: SyntaxProblem[], unterminated: IToken[]): SyntaxProblem[] {
  if (unterminated.length === 0) return problems;
  // A comment runs to the end of the file, a string to the end of its line.
  const spans = unterminated.map((t) => ({ start: t.startOffset, end: t.startOffset + t.image.length }));
  const caused = (p: SyntaxProblem) => p.code === 'syntax' && spans.some((u) =>
    (p.span.start >= u.start && p.span.start <= u.end) || (p.span.start === p.span.end && p.span.start < u.start && text.slice(p.span.start, u.start).trim() === ''));
  return problems.filter((p) => !caused(p));
}

const isLocated = (v: unknown): boolean =>
  !!v && typeof v === 'object' && 'value' in v && (v as Located<unknown>).value !== undefined
  && Number.isFinite((v as Located<unknown>).span?.start) && Number.isFinite((v as Located<unknown>).span?.end);

/** Drops recovery leftovers (undefined values) so that every node has its required shape. */
function cleanFields<T extends object>(node: T, keys: readonly string[]): T {
  for (const k of keys) {
    const v = (node as Record<string, unknown>)[k];
    if (v !== undefined && !isLocated(v)) delete (node as Record<string, unknown>)[k];
  }
  return node;
}
const LAYER_KEYS = ['op', 'e', 'k', 's', 'f', 'x', 'se', 'skip', 'act'] as const;

function layer(spec: LayerSpecNode | undefined, at: Span): LayerSpecNode {
  const l = spec ?? ({ span: at, repeated: [] } as LayerSpecNode);
  l.span ??= at;
  l.repeated ??= [];
  return cleanFields(l, LAYER_KEYS);
}

function normalize(decl: Decl, at: Span): void {
  if (decl.kind === 'import') {
    if (!isLocated(decl.path)) decl.path = { value: '', span: at };
    return;
  }
  if (!isLocated(decl.name)) decl.name = { value: '', span: at };
  decl.span ??= at;
  if (decl.kind === 'model') {
    decl.repeated ??= [];
    cleanFields(decl, ['input', 'width', 'depth', 'act']);
    if (decl.stem) {
      const keyword = decl.stem.keyword ?? at;
      decl.stem = { ...layer(decl.stem, keyword), keyword };
    }
    decl.blocks = (decl.blocks ?? []).filter((b) => b && isLocated(b.name));
    for (const b of decl.blocks) { b.span ??= b.name.span; b.spec = layer(b.spec, b.name.span); }
    if (decl.head) {
      decl.head.repeated ??= [];
      decl.head.keyword ??= at;
      decl.head.span ??= decl.head.keyword;
      cleanFields(decl.head, ['f', 'pool', 'classes', 'dropout']);
    }
  } else if (decl.kind === 'space') {
    if (decl.from && !isLocated(decl.from)) delete decl.from;
    decl.blocks = (decl.blocks ?? []).filter((b) => b && isLocated(b.name));
    for (const b of decl.blocks) {
      b.span ??= b.name.span;
      b.choices = (b.choices ?? []).filter((c) => c && isLocated(c.field));
      for (const c of b.choices) {
        c.values = (c.values ?? []).filter(isLocated);
        c.list ??= c.field.span;
        c.span ??= c.field.span;
        if (c.mode && !isLocated(c.mode)) delete c.mode;
      }
    }
  } else {
    const fix = (settings: SettingNode[] | undefined): SettingNode[] =>
      (settings ?? []).filter((st) => st && isLocated(st.key)).map((st) => {
        st.values = (st.values ?? []).filter(isLocated) as SettingValue[];
        st.span ??= st.key.span;
        if (st.children) st.children = fix(st.children);
        return st;
      });
    decl.settings = fix(decl.settings);
  }
}

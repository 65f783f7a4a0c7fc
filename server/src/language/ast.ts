// The .mnas syntax tree. Every value keeps its own span so that a diagnostic, hover or
// rename can point at exactly the token it is about (Langium-style node + property ranges).

/** Half-open character offsets [start, end) into the document text. */
export interface Span { start: number; end: number }
export interface Located<T> { value: T; span: Span }

export type OpName = 'conv' | 'sepconv' | 'mbconv';
export type ActName = 'relu' | 'relu6' | 'swish' | 'hswish';
export type SkipName = 'identity' | 'pool' | 'none';
export type PoolName = 'avg' | 'max';

export const OP_NAMES: readonly OpName[] = ['conv', 'sepconv', 'mbconv'];
export const ACT_NAMES: readonly ActName[] = ['relu', 'relu6', 'swish', 'hswish'];
export const SKIP_NAMES: readonly SkipName[] = ['identity', 'pool', 'none'];
export const POOL_NAMES: readonly PoolName[] = ['avg', 'max'];

/** The fields a layer spec (stem or block) can carry; the letters are the source spellings. */
export type LayerField = 'op' | 'e' | 'k' | 's' | 'f' | 'x' | 'se' | 'skip' | 'act';

/** A field given twice in one block: the later occurrence. */
export interface RepeatedField { field: string; span: Span }

export interface LayerSpecNode {
  span: Span;
  op?: Located<OpName>;
  e?: Located<number>;
  k?: Located<number>;
  s?: Located<number>;
  f?: Located<number>;
  x?: Located<number>;
  se?: Located<number>;
  skip?: Located<SkipName>;
  act?: Located<ActName>;
  repeated: RepeatedField[];
  /** Words inside the braces that are no field (reported by the parser): any field may be the typo. */
  typos?: Span[];
}

export interface BlockNode {
  kind: 'block';
  name: Located<string>;
  spec: LayerSpecNode;
  span: Span;
}

export interface HeadNode {
  span: Span;
  keyword: Span;
  /** Width of the head's 1x1 conv (`conv f1280`); absent means no head conv. */
  f?: Located<number>;
  pool?: Located<PoolName>;
  classes?: Located<number>;
  dropout?: Located<number>;
  repeated: RepeatedField[];
}

export interface InputShape { h: number; w: number; c: number }

export interface ModelNode {
  kind: 'model';
  name: Located<string>;
  span: Span;
  /** The opening brace, where inserted items go. */
  open?: Span;
  input?: Located<InputShape>;
  width?: Located<number>;
  depth?: Located<number>;
  act?: Located<ActName>;
  stem?: LayerSpecNode & { keyword: Span };
  blocks: BlockNode[];
  head?: HeadNode;
  repeated: RepeatedField[];
}

export type ChoiceField = 'op' | 'e' | 'k' | 's' | 'se' | 'skip' | 'act' | 'f' | 'x';
export const CHOICE_FIELDS: readonly ChoiceField[] = ['op', 'e', 'k', 's', 'se', 'skip', 'act', 'f', 'x'];

export interface ChoiceNode {
  field: Located<ChoiceField>;
  /** `*` (filters: factor of the skeleton's value) or `+` (layers: delta to the skeleton's value). */
  mode?: Located<'*' | '+'>;
  values: Located<number | string>[];
  list: Span;
  span: Span;
}

export interface SpaceBlockNode {
  /** A block name of the skeleton, or `*` for every block. */
  name: Located<string>;
  choices: ChoiceNode[];
  span: Span;
}

export interface SpaceNode {
  kind: 'space';
  name: Located<string>;
  from?: Located<string>;
  blocks: SpaceBlockNode[];
  span: Span;
}

export type SettingValueType = 'number' | 'quantity' | 'word' | 'string' | 'resolution';
export interface SettingValue extends Located<number | string> {
  type: SettingValueType;
  /** The unit of a quantity (`ms`, `M`...). */
  unit?: string;
  raw: string;
}

export interface SettingNode {
  key: Located<string>;
  values: SettingValue[];
  children?: SettingNode[];
  span: Span;
}

export interface SearchNode {
  kind: 'search';
  name: Located<string>;
  settings: SettingNode[];
  span: Span;
}

export interface ImportNode {
  kind: 'import';
  path: Located<string>;
  span: Span;
}

export type Decl = ImportNode | ModelNode | SpaceNode | SearchNode;
export type NamedDecl = ModelNode | SpaceNode | SearchNode;

export interface FileNode {
  decls: Decl[];
  imports: ImportNode[];
  models: ModelNode[];
  spaces: SpaceNode[];
  searches: SearchNode[];
}

export function contains(span: Span, offset: number): boolean {
  return offset >= span.start && offset <= span.end;
}

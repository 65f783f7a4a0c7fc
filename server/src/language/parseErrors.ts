// Syntax error messages that say what was expected and how to fix it, in the language's
// own terms ("a block field such as k3"), instead of chevrotain's token-type lists.
import { IParserErrorMessageProvider, IToken, TokenType } from 'chevrotain';
import { quoted } from './problems';

const RULE_CONTEXT: Record<string, string> = {
  modelDecl: 'in this model',
  blockDecl: 'in this block',
  layerFields: 'in this layer',
  headDecl: 'in the head',
  spaceDecl: 'in this space',
  spaceBlock: 'in this space block',
  choice: 'in this choice list',
  searchDecl: 'in this search',
  settings: 'in this search',
  importDecl: 'in this import',
  name: '',
  declaration: '',
};

function label(t: TokenType): string {
  const l = t.LABEL ?? t.name;
  return l;
}
function shown(tok: IToken): string {
  return tok.tokenType.name === 'EOF' ? 'end of input' : `'${quoted(tok.image)}'`;
}
function unique(paths: TokenType[][]): string[] {
  return [...new Set(paths.map((p) => (p[0] ? label(p[0]) : '')).filter(Boolean))];
}
function list(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'something else';
  const shownItems = items.length > 8 ? [...items.slice(0, 8), '...'] : items;
  return `${shownItems.slice(0, -1).join(', ')} or ${shownItems[shownItems.length - 1]}`;
}

function fixFor(expected: string, ruleName: string): string {
  if (expected === "'}'") return ruleName === 'blockDecl' || ruleName === 'layerFields'
    ? "Close the block with '}' (or remove the stray text)."
    : "Add the missing '}' (or remove the stray text).";
  if (expected === "'{'") return "Open the body with '{'.";
  if (expected === "']'") return "Close the list with ']'; separate values with ','.";
  if (expected === "'['") return 'Write the choices as a list, e.g. `k [3, 5]`.';
  if (expected === 'a name') return 'Give it a name, e.g. `block b3 { ... }`.';
  if (expected.startsWith('NumberLit')) return 'Write a number here.';
  return '';
}

export const syntaxErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    const exp = expected.name === 'NumberLit' ? 'a number' : expected.name === 'StringLit' ? 'a quoted path' : label(expected);
    const where = RULE_CONTEXT[ruleName] ? ` ${RULE_CONTEXT[ruleName]}` : '';
    return `Expected ${exp}${where} but found ${shown(actual)}. ${fixFor(label(expected), ruleName)}`.trim();
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `Unexpected ${shown(firstRedundant)} after the end of this declaration. Remove it, or start a new \`model\`, \`space\` or \`search\`.`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const options = unique(expectedPathsPerAlt.flat());
    const where = RULE_CONTEXT[ruleName] ? ` ${RULE_CONTEXT[ruleName]}` : '';
    if (ruleName === 'declaration') {
      return `Expected \`model\`, \`space\`, \`search\` or \`import\` but found ${shown(actual[0])}.`;
    }
    return `Unexpected ${shown(actual[0])}${where}: expected ${list(options)}.`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const where = RULE_CONTEXT[ruleName] ? ` ${RULE_CONTEXT[ruleName]}` : '';
    return `Expected at least one of ${list(unique(expectedIterationPaths))}${where} but found ${shown(actual[0])}.`;
  },
};

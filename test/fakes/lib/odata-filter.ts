import { isInt32, type EdmValue } from './edm.js';

/**
 * The subset of the Table service's OData `$filter` that the app and the SDK's `odata` tag write:
 * comparisons (`eq ne gt ge lt le`) of a property with a literal (a string with `''` escapes, an
 * Int32, an Int64 `…L`, a Double `1.5`, `true`/`false`, `datetime'…'`, `guid'…'`), combined with
 * `and`, `or`, `not` and parentheses. Whatever else is either not OData (the service answers 400)
 * or OData this fake does not evaluate; both throw, so no filter silently matches every row.
 */

/** Why a filter was not evaluated. */
export class FilterError extends Error {
  constructor(
    /**
     * `invalid`: not a filter (the service answers 400 InvalidInput). `unsupported`: OData this
     * fake does not evaluate. `int64-literal`: an Int64 literal against a property of another
     * number type, which Azurite answers with 500 (Azure matches no row).
     */
    readonly kind: 'invalid' | 'unsupported' | 'int64-literal',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A property of the entity being tested (`PartitionKey`, `RowKey`, `Timestamp` or a custom one). */
export type PropertyLookup = (name: string) => EdmValue | undefined;

/** A compiled filter: whether an entity matches. @throws FilterError (`int64-literal`) */
export type EntityFilter = (property: PropertyLookup) => boolean;

type Literal = EdmValue;
type Comparison = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

type Node =
  | { readonly kind: 'and' | 'or'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'compare'; readonly op: Comparison; readonly property: string; readonly literal: Literal };

type Token =
  | { readonly kind: '(' | ')' }
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'literal'; readonly value: Literal };

const COMPARISONS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
// Flipped when the literal is written first (`5 lt n` is `n gt 5`).
const FLIPPED: Record<Comparison, Comparison> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?([A-Za-z])?/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// The service's own datetime literal form; Date.parse alone would take far more than ISO 8601.
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Compiles `$filter` text. An empty string is no filter (the SDK then sends none).
 * @throws FilterError (`invalid` or `unsupported`)
 */
export function compileFilter(text: string): EntityFilter {
  if (text === '') return () => true;
  const tokens = tokenize(text);
  const parser = new Parser(tokens);
  const tree = parser.parseAll();
  return (property) => evaluate(tree, property);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c });
      i += 1;
    } else if (c === "'") {
      const { value, end } = quoted(text, i);
      tokens.push({ kind: 'literal', value: { type: 'String', value } });
      i = end;
    } else if (/[-\d]/.test(c)) {
      const m = NUMBER.exec(text.slice(i));
      if (m === null) throw invalid(`unexpected '${c}'`);
      tokens.push({ kind: 'literal', value: numberLiteral(m[0], m[1] !== undefined, m[2] !== undefined, m[3]) });
      i += m[0].length;
    } else {
      const m = IDENTIFIER.exec(text.slice(i));
      if (m === null) throw invalid(`unexpected '${c}'`);
      const word = m[0];
      i += word.length;
      if (text[i] === "'") {
        const { value, end } = quoted(text, i);
        tokens.push({ kind: 'literal', value: typedLiteral(word, value) });
        i = end;
      } else if (word === 'true' || word === 'false') {
        tokens.push({ kind: 'literal', value: { type: 'Boolean', value: word === 'true' } });
      } else {
        tokens.push({ kind: 'word', text: word });
      }
    }
  }
  return tokens;
}

/** A `'…'` literal from `start` (its opening quote): its value with `''` unescaped, and where it ends. */
function quoted(text: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  for (;;) {
    const next = text.indexOf("'", i);
    if (next < 0) throw invalid('unterminated string literal');
    value += text.slice(i, next);
    if (text[next + 1] === "'") {
      value += "'";
      i = next + 2;
    } else {
      return { value, end: next + 1 };
    }
  }
}

function numberLiteral(text: string, fraction: boolean, exponent: boolean, suffix: string | undefined): Literal {
  if (exponent || (suffix !== undefined && suffix !== 'L')) throw unsupported(`the number literal ${text}`);
  const digits = suffix === undefined ? text : text.slice(0, -1);
  if (suffix === 'L') {
    if (fraction) throw invalid(`${text} is not an Int64`);
    return { type: 'Int64', value: BigInt(digits) };
  }
  if (fraction) return { type: 'Double', value: Number(digits) };
  const n = Number(digits);
  // Azure refuses an unsuffixed integer beyond Int32 ("Unrecognized 'Edm.Int32' literal"); Azurite
  // compares it as a number. The fake follows Azure: such a filter only works on the emulator.
  if (!isInt32(n)) throw invalid(`${text} is not an Edm.Int32 literal (write an Int64 as ${text}L)`);
  return { type: 'Int32', value: n };
}

function typedLiteral(prefix: string, value: string): Literal {
  if (prefix === 'datetime') {
    if (!DATETIME.test(value) || Number.isNaN(Date.parse(value))) throw invalid(`datetime'${value}' is not a date`);
    return { type: 'DateTime', value: new Date(Date.parse(value)).toISOString() };
  }
  if (prefix === 'guid') {
    if (!GUID.test(value)) throw invalid(`guid'${value}' is not a GUID`);
    return { type: 'Guid', value: value.toLowerCase() };
  }
  throw unsupported(`the literal ${prefix}'…'`);
}

class Parser {
  #at = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): Node {
    const node = this.or();
    if (this.#at < this.tokens.length) throw invalid('unexpected text after the expression');
    return node;
  }

  private or(): Node {
    let node = this.and();
    while (this.isWord('or')) {
      this.#at += 1;
      node = { kind: 'or', left: node, right: this.and() };
    }
    return node;
  }

  private and(): Node {
    let node = this.unary();
    while (this.isWord('and')) {
      this.#at += 1;
      node = { kind: 'and', left: node, right: this.unary() };
    }
    return node;
  }

  // `not` applies to the comparison or parenthesised expression after it (as Azurite reads it).
  private unary(): Node {
    if (this.isWord('not')) {
      this.#at += 1;
      return { kind: 'not', operand: this.unary() };
    }
    return this.primary();
  }

  private primary(): Node {
    const token = this.tokens[this.#at];
    if (token === undefined) throw invalid('the expression ends too early');
    if (token.kind === '(') {
      this.#at += 1;
      const node = this.or();
      if (this.tokens[this.#at]?.kind !== ')') throw invalid("a '(' is not closed");
      this.#at += 1;
      return node;
    }
    return this.comparison();
  }

  private comparison(): Node {
    const left = this.operand();
    const opToken = this.tokens[this.#at];
    if (opToken?.kind === '(' && left.kind === 'word') throw invalid(`functions such as ${left.text}() are not supported`);
    if (opToken?.kind !== 'word' || !COMPARISONS.has(opToken.text)) {
      if (left.kind === 'word' && !isKeyword(left.text)) throw unsupported(`the property ${left.text} as a condition on its own`);
      throw invalid('expected a comparison (eq, ne, gt, ge, lt, le)');
    }
    this.#at += 1;
    const op = opToken.text as Comparison;
    const right = this.operand();
    if (left.kind === 'word' && right.kind === 'literal') return { kind: 'compare', op, property: left.text, literal: right.value };
    if (left.kind === 'literal' && right.kind === 'word') return { kind: 'compare', op: FLIPPED[op], property: right.text, literal: left.value };
    throw unsupported('a comparison of two properties or of two literals');
  }

  private operand(): Extract<Token, { kind: 'word' | 'literal' }> {
    const token = this.tokens[this.#at];
    if (token === undefined) throw invalid('the expression ends too early');
    if (token.kind === 'literal' || (token.kind === 'word' && !isKeyword(token.text))) {
      this.#at += 1;
      return token;
    }
    throw invalid('expected a property or a literal');
  }

  private isWord(text: string): boolean {
    const token = this.tokens[this.#at];
    return token?.kind === 'word' && token.text === text;
  }
}

function isKeyword(word: string): boolean {
  return word === 'and' || word === 'or' || word === 'not' || COMPARISONS.has(word);
}

function evaluate(node: Node, property: PropertyLookup): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, property) && evaluate(node.right, property);
    case 'or':
      return evaluate(node.left, property) || evaluate(node.right, property);
    case 'not':
      return !evaluate(node.operand, property);
    case 'compare': {
      const value = property(node.property);
      // A row without the property never matches, not even `ne` (Azure and Azurite agree).
      if (value === undefined) return false;
      const order = compare(value, node.literal, node.property);
      if (order === undefined) return false;
      switch (node.op) {
        case 'eq':
          return order === 0;
        case 'ne':
          return order !== 0;
        case 'gt':
          return order > 0;
        case 'ge':
          return order >= 0;
        case 'lt':
          return order < 0;
        case 'le':
          return order <= 0;
      }
    }
  }
}

/**
 * The order of a stored value and a literal; `undefined` when their types do not compare (the
 * row does not match). Int32 and Double compare with each other; an Int64 property with an Int64
 * or Int32 literal.
 */
function compare(value: EdmValue, literal: Literal, name: string): number | undefined {
  switch (value.type) {
    case 'String':
      return literal.type === 'String' ? order(value.value, literal.value) : undefined;
    case 'Int32':
    case 'Double':
      if (literal.type === 'Int32' || literal.type === 'Double') return order(value.value, literal.value);
      if (literal.type === 'Int64') {
        throw new FilterError(
          'int64-literal',
          `${name} holds an Edm.${value.type} and the filter compares it with an Int64 literal (${literal.value}L): Azurite answers 500, Azure matches no row`,
        );
      }
      return undefined;
    case 'Int64':
      if (literal.type === 'Int64') return order(value.value, literal.value);
      if (literal.type === 'Int32') return order(value.value, BigInt(literal.value));
      if (literal.type === 'Double') throw unsupported(`comparing the Int64 property ${name} with a Double literal`);
      return undefined;
    case 'Boolean':
      return literal.type === 'Boolean' ? order(Number(value.value), Number(literal.value)) : undefined;
    case 'DateTime':
      return literal.type === 'DateTime' ? order(Date.parse(value.value), Date.parse(literal.value)) : undefined;
    case 'Guid':
      return literal.type === 'Guid' ? order(value.value, literal.value) : undefined;
    case 'Binary':
      throw unsupported(`comparing the Binary property ${name}`);
  }
}

function order<T extends string | number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function invalid(message: string): FilterError {
  return new FilterError('invalid', `Not a Table filter: ${message}`);
}

function unsupported(what: string): FilterError {
  return new FilterError('unsupported', `The in-memory table fake does not evaluate ${what}`);
}

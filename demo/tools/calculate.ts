/**
 * Evaluates an arithmetic expression with a small hand-written parser (no `eval`, no `Function`),
 * so a model can pass any text without it ever running as code.
 *
 * Supports numbers (`1.5`, `.5`, `2e3`), `+ - * / % ^` (also `×`, `÷`, `**`), parentheses, unary
 * signs, the constants `pi` and `e`, and the functions `sqrt abs round floor ceil sin cos tan ln log
 * exp min max pow`. `^` is right-associative and binds tighter than unary minus (`-2^2 = -4`).
 *
 * @throws Error with a short, user-readable message on a malformed expression, a division by
 * zero, or a result that is not a finite number.
 * @example
 * calculate('12 * 7'); // 84
 * calculate('sqrt(2)^2'); // 2
 */
export function calculate(expression: string): number {
  if (expression.length > MAX_LENGTH) throw new Error(`The expression is longer than ${MAX_LENGTH} characters.`);
  const parser = new Parser(tokenize(expression));
  const value = parser.parseExpression();
  parser.expectEnd();
  if (!Number.isFinite(value)) throw new Error('The result is not a finite number.');
  // 12 significant digits hide binary noise such as 0.1 + 0.2 = 0.30000000000000004.
  return Number(value.toPrecision(12));
}

const MAX_LENGTH = 500;
const MAX_DEPTH = 100;

type Token = { kind: 'number'; value: number } | { kind: 'name'; value: string } | { kind: 'op'; value: string };

const FUNCTIONS: Record<string, { arity: [number, number]; apply: (...args: number[]) => number }> = {
  sqrt: { arity: [1, 1], apply: (x) => (x < 0 ? Number.NaN : Math.sqrt(x)) },
  abs: { arity: [1, 1], apply: Math.abs },
  round: { arity: [1, 1], apply: Math.round },
  floor: { arity: [1, 1], apply: Math.floor },
  ceil: { arity: [1, 1], apply: Math.ceil },
  sin: { arity: [1, 1], apply: Math.sin },
  cos: { arity: [1, 1], apply: Math.cos },
  tan: { arity: [1, 1], apply: Math.tan },
  ln: { arity: [1, 1], apply: Math.log },
  log: { arity: [1, 1], apply: Math.log10 },
  exp: { arity: [1, 1], apply: Math.exp },
  pow: { arity: [2, 2], apply: (a, b) => a ** b },
  min: { arity: [1, 50], apply: Math.min },
  max: { arity: [1, 50], apply: Math.max },
};

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E, π: Math.PI };

function tokenize(source: string): Token[] {
  const text = source.replace(/×/g, '*').replace(/÷/g, '/').replace(/\*\*/g, '^').replace(/−/g, '-');
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))?.[0];
    if (number) {
      tokens.push({ kind: 'number', value: Number(number) });
      i += number.length;
      continue;
    }
    const name = /^[a-zA-Zπ]+/.exec(text.slice(i))?.[0];
    if (name) {
      tokens.push({ kind: 'name', value: name.toLowerCase() });
      i += name.length;
      continue;
    }
    if ('+-*/%^(),'.includes(ch)) {
      tokens.push({ kind: 'op', value: ch });
      i++;
      continue;
    }
    throw new Error(`Unexpected character '${ch}' in the expression.`);
  }
  if (tokens.length === 0) throw new Error('The expression is empty.');
  return tokens;
}

/** Recursive descent: expression → term (+ -) → factor (* / %) → unary → power (^) → primary. */
class Parser {
  #position = 0;
  #depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseExpression(): number {
    this.#enter();
    let value = this.#parseTerm();
    while (this.#peekOp('+') || this.#peekOp('-')) {
      const op = this.#next().value;
      const right = this.#parseTerm();
      value = op === '+' ? value + right : value - right;
    }
    this.#depth--;
    return value;
  }

  expectEnd(): void {
    const token = this.tokens[this.#position];
    if (token) throw new Error(`Unexpected '${token.value}' in the expression.`);
  }

  #parseTerm(): number {
    let value = this.#parseUnary();
    while (this.#peekOp('*') || this.#peekOp('/') || this.#peekOp('%')) {
      const op = this.#next().value;
      const right = this.#parseUnary();
      if ((op === '/' || op === '%') && right === 0) throw new Error('Division by zero.');
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  }

  #parseUnary(): number {
    if (this.#peekOp('-') || this.#peekOp('+')) {
      const op = this.#next().value;
      this.#enter();
      const value = this.#parseUnary();
      this.#depth--;
      return op === '-' ? -value : value;
    }
    return this.#parsePower();
  }

  #parsePower(): number {
    const base = this.#parsePrimary();
    if (!this.#peekOp('^')) return base;
    this.#next();
    this.#enter();
    const exponent = this.#parseUnary();
    this.#depth--;
    return base ** exponent;
  }

  #parsePrimary(): number {
    const token = this.tokens[this.#position];
    if (!token) throw new Error('The expression ends too early.');
    if (token.kind === 'number') {
      this.#position++;
      return token.value;
    }
    if (token.kind === 'op' && token.value === '(') {
      this.#position++;
      const value = this.parseExpression();
      this.#expectOp(')');
      return value;
    }
    if (token.kind === 'name') {
      this.#position++;
      // Own keys only: `constructor` or `__proto__` must not reach Object.prototype.
      if (Object.hasOwn(FUNCTIONS, token.value)) return this.#callFunction(token.value, FUNCTIONS[token.value]!);
      if (Object.hasOwn(CONSTANTS, token.value)) return CONSTANTS[token.value]!;
      throw new Error(`Unknown name '${token.value}'.`);
    }
    throw new Error(`Unexpected '${token.value}' in the expression.`);
  }

  #callFunction(name: string, fn: { arity: [number, number]; apply: (...args: number[]) => number }): number {
    this.#expectOp('(');
    const args: number[] = [];
    if (!this.#peekOp(')')) {
      args.push(this.parseExpression());
      while (this.#peekOp(',')) {
        this.#next();
        args.push(this.parseExpression());
      }
    }
    this.#expectOp(')');
    const [least, most] = fn.arity;
    if (args.length < least || args.length > most) {
      throw new Error(`${name}() takes ${least === most ? least : `${least} to ${most}`} argument(s).`);
    }
    const value = fn.apply(...args);
    if (Number.isNaN(value)) throw new Error(`${name}() is not defined for these arguments.`);
    return value;
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH) throw new Error('The expression is nested too deeply.');
  }

  #peekOp(value: string): boolean {
    const token = this.tokens[this.#position];
    return token?.kind === 'op' && token.value === value;
  }

  #expectOp(value: string): void {
    if (!this.#peekOp(value)) throw new Error(`Expected '${value}' in the expression.`);
    this.#position++;
  }

  #next(): Token {
    const token = this.tokens[this.#position++];
    if (!token) throw new Error('The expression ends too early.');
    return token;
  }
}

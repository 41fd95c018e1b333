/**
 * A tiny, safe integer arithmetic language for the catalogue's formulas: the twin of
 * `backend/model_studio/formula.py`.
 *
 * Grammar: `expr := term (("+" | "-") term)*`, `term := factor ("*" factor)*`,
 * `factor := INT | NAME | "(" expr ")"`. There is no division, so every result is an exact
 * integer and both sides give the same numbers; the conformance vectors hold them together.
 * Formulas are parsed once into closures, then evaluated for every block of every design.
 */

/** Named integers a formula reads: catalogue constants, a block's props, `w`, `feat`, `top_k`. */
export type FormulaEnv = ReadonlyMap<string, number>;

export type Formula = (env: FormulaEnv) => number;

export class FormulaError extends Error {
  override name = "FormulaError";
}

const TOKEN = /\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\S))/y;
const TRAILING_SPACE = /\s*$/y;
const OPERATORS = "+-*()";

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    TRAILING_SPACE.lastIndex = TOKEN.lastIndex;
    if (TRAILING_SPACE.test(text)) return tokens;
    const match = TOKEN.exec(text);
    if (match === null) throw new FormulaError(`cannot read formula ${JSON.stringify(text)}`);
    const [, number, name, symbol] = match;
    if (symbol !== undefined && !OPERATORS.includes(symbol)) {
      throw new FormulaError(`unexpected ${JSON.stringify(symbol)} in formula ${JSON.stringify(text)}`);
    }
    tokens.push(number ?? name ?? symbol);
  }
}

const isName = (token: string): boolean => /^[A-Za-z_]/.test(token);

/** Parse `text` once; the returned function evaluates it against named integers. */
export function compileFormula(text: string): Formula {
  const tokens = tokenize(text);
  let position = 0;
  const quoted = JSON.stringify(text);

  const peek = (): string | undefined => tokens[position];
  const take = (): string => {
    if (position >= tokens.length) throw new FormulaError(`formula ${quoted} ends early`);
    return tokens[position++];
  };

  function expr(): Formula {
    let node = term();
    for (let op = peek(); op === "+" || op === "-"; op = peek()) {
      take();
      const left = node;
      const right = term();
      node = op === "+" ? (env) => left(env) + right(env) : (env) => left(env) - right(env);
    }
    return node;
  }

  function term(): Formula {
    let node = factor();
    while (peek() === "*") {
      take();
      const left = node;
      const right = factor();
      node = (env) => left(env) * right(env);
    }
    return node;
  }

  function factor(): Formula {
    const token = take();
    if (token === "(") {
      const node = expr();
      if (take() !== ")") throw new FormulaError(`missing ')' in formula ${quoted}`);
      return node;
    }
    if (/^\d+$/.test(token)) {
      const value = Number(token);
      return () => value;
    }
    if (isName(token)) {
      return (env) => {
        const value = env.get(token);
        if (value === undefined) throw new FormulaError(`formula ${quoted} reads unknown name ${token}`);
        return value;
      };
    }
    throw new FormulaError(`unexpected ${JSON.stringify(token)} in formula ${quoted}`);
  }

  const node = expr();
  if (position !== tokens.length) {
    throw new FormulaError(`unexpected ${JSON.stringify(tokens[position])} in formula ${quoted}`);
  }
  return node;
}

/** The variable names a formula reads. */
export function formulaNames(text: string): Set<string> {
  return new Set(tokenize(text).filter(isName));
}

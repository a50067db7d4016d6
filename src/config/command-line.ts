// Split a --before command line into argv the way a POSIX shell would quote it, but without running a shell.

/** The result of splitting: argv, or the reason the text cannot be split without a shell. */
export type SplitResult = { argv: string[] } | { problem: string; fix: string };

const SHELL_OPERATORS = ['&&', '||', ';', '|', '&', '>', '<', '$(', '`'];

// Split on unquoted whitespace; honour '...', "..." and backslash escapes; refuse shell operators and expansions.
export function splitCommandLine(text: string): SplitResult {
  const argv: string[] = [];
  let current = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quote === "'") {
      if (ch === "'") quote = null;
      else current += ch;
      continue;
    }
    if (quote === '"') {
      const step = doubleQuoted(text, i);
      if (step === null) return expansionProblem(text);
      if (step.close) quote = null;
      current += step.add;
      i = step.next;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text.charAt(++i);
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(current);
      current = '';
      inWord = false;
    } else if (ch === '$' || ch === '`') {
      return expansionProblem(text);
    } else {
      const operator = SHELL_OPERATORS.find((op) => text.startsWith(op, i));
      if (operator !== undefined) {
        return {
          problem: `shell operator "${operator}" needs a shell, and tend runs steps without one`,
          fix: `write --before "sh -c '${text.replaceAll("'", "'\\''")}'"`,
        };
      }
      current += ch;
      inWord = true;
    }
  }
  if (quote !== null) return { problem: `unterminated ${quote} quote`, fix: `close the ${quote} quote` };
  if (inWord) argv.push(current);
  if (argv.length === 0) return { problem: 'the command line is empty', fix: 'give a command, e.g. --before "npm run migrate"' };
  return { argv };
}

// One step inside "...": the closing quote, an escaped character, or a literal; null for an expansion.
function doubleQuoted(text: string, i: number): { close: boolean; add: string; next: number } | null {
  const ch = text.charAt(i);
  if (ch === '"') return { close: true, add: '', next: i };
  if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text.charAt(i + 1))) return { close: false, add: text.charAt(i + 1), next: i + 1 };
  if (ch === '$' || ch === '`') return null;
  return { close: false, add: ch, next: i };
}

function expansionProblem(text: string): SplitResult {
  return {
    problem: 'variable and command expansion ($, `) needs a shell, and tend runs steps without one',
    fix: `write --before "sh -c '${text.replaceAll("'", "'\\''")}'"`,
  };
}
